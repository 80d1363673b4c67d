// zstd decoded by the system's libzstd (libzstd.so.1, the library the `zstd` command itself runs on),
// called in this process through koffi on libuv's pool, as liblzma.ts does for xz. Against Node's
// zlib binding it hands the pool larger output buffers with no stream plumbing per chunk, and a
// whole NAR decodes in one call straight into its buffer. libzstd decodes concatenated and
// skippable frames itself, so the streamed path needs no frame walk. README, "zstd through libzstd".
import { ZSTD_WINDOW_LOG_MAX } from './decode-limits.ts';
import { libraryStatus, loadLibrary, perLibrary, type KoffiFunction } from './koffi.ts';
import { markOwned, releaseInput } from './owned-chunks.ts';

/** The library's name (its soname); `DecoderOptions.zstdLibrary` may name another file. */
export const LIBZSTD: string = 'libzstd.so.1';

// ZSTD_dParameter ZSTD_d_windowLogMax (zstd.h, stable API).
const ZSTD_D_WINDOW_LOG_MAX = 100;
// 1.4.0 made ZSTD_DCtx_setParameter and the decoder's parameters stable API.
const MIN_VERSION = 10_400;
// What libzstd names the errors this package turns into its own verdicts (ZSTD_getErrorName).
const WINDOW_TOO_LARGE = 'Frame requires too much memory for decoding';
const DST_TOO_SMALL = 'Destination buffer is too small';

/**
 * What libzstd said about a stream it could not decode (internal, uncoded: decompress.ts makes it
 * FLOXK8S_DECOMPRESS_FAILED). `zstdError` is the name Node's zlib gives the same error (its `code`)
 * where this package tells errors apart (`ZSTD_error_frameParameter_windowTooLarge`,
 * `ZSTD_error_dstSize_tooSmall`).
 */
export class LibzstdError extends Error {
  readonly zstdError: string | undefined;
  constructor(message: string, zstdError?: string) {
    super(message);
    this.name = 'LibzstdError';
    this.zstdError = zstdError;
  }
}

/** The library's entry points, as loaded. */
export interface LibzstdBinding {
  /** ZSTD_versionString(), e.g. `1.5.4`. */
  version: string;
  createDCtx: KoffiFunction;
  freeDCtx: KoffiFunction;
  setParameter: KoffiFunction;
  decompressStream: KoffiFunction;
  decompressDCtx: KoffiFunction;
  isError: KoffiFunction;
  errorName: KoffiFunction;
  address: (value: Uint8Array) => bigint;
  /** Decoder contexts alive now (a test's check that every decode freed its own). */
  contexts: number;
}

const bindLibzstd = perLibrary((library: string): LibzstdBinding | Error => {
  const loaded = loadLibrary('libzstd', library);
  if (loaded instanceof Error) return loaded;
  const { koffi, lib } = loaded;
  const version = lib.func('uint32_t ZSTD_versionNumber(void)')() as number;
  if (version < MIN_VERSION) return new Error(`${library} is version ${version}; 1.4.0 or later is needed`);
  return {
    version: String(lib.func('const char *ZSTD_versionString(void)')()),
    createDCtx: lib.func('void *ZSTD_createDCtx(void)'),
    freeDCtx: lib.func('size_t ZSTD_freeDCtx(void *dctx)'),
    setParameter: lib.func('size_t ZSTD_DCtx_setParameter(void *dctx, int param, int value)'),
    decompressStream: lib.func('size_t ZSTD_decompressStream(void *dctx, void *output, void *input)'),
    decompressDCtx: lib.func('size_t ZSTD_decompressDCtx(void *dctx, void *dst, size_t dstCapacity, void *src, size_t srcSize)'),
    isError: lib.func('uint32_t ZSTD_isError(size_t code)'),
    errorName: lib.func('const char *ZSTD_getErrorName(size_t code)'),
    address: (value) => koffi.address(value),
    contexts: 0,
  };
});

/**
 * libzstd through koffi, or why not (memoised per library path): koffi is not installed or has no
 * binary for this platform, the library is missing or older than 1.4.0, or this is not a 64-bit
 * little-endian process (ZSTD_inBuffer and ZSTD_outBuffer are written as 64-bit little-endian fields).
 */
export function libzstd(library: string = LIBZSTD): LibzstdBinding | Error {
  return bindLibzstd(library);
}

/** Whether zstd decodes through libzstd here (`zstdLibrary`, default libzstd.so.1), with its version, or why not. */
export function libzstdStatus(library?: string): { loaded: true; version: string } | { loaded: false; reason: string } {
  return libraryStatus(libzstd(library));
}

/**
 * A decoder context for one NAR, with the window limit of decode-limits.ts. Not kept for the next
 * NAR: contexts kept with their windows (up to 16 idle) were no faster on the *large* closure and
 * held ~15 MB more at the peak (store README, "zstd through libzstd").
 */
function newContext(binding: LibzstdBinding): unknown {
  const dctx = binding.createDCtx();
  if (dctx === null) throw new LibzstdError('libzstd could not allocate a decoder context');
  const ret = binding.setParameter(dctx, ZSTD_D_WINDOW_LOG_MAX, ZSTD_WINDOW_LOG_MAX) as number;
  if (binding.isError(ret) !== 0) {
    binding.freeDCtx(dctx);
    throw new LibzstdError(`libzstd refused the window limit: ${String(binding.errorName(ret))}`);
  }
  return dctx;
}

/** The error of a libzstd return value, named as Node's zlib names the ones this package tells apart. */
function failure(binding: LibzstdBinding, ret: number | bigint, what: string): LibzstdError {
  const name = String(binding.errorName(ret));
  const zstdError = name === WINDOW_TOO_LARGE ? 'ZSTD_error_frameParameter_windowTooLarge' : name === DST_TOO_SMALL ? 'ZSTD_error_dstSize_tooSmall' : undefined;
  return new LibzstdError(`libzstd ${what}: ${name}`, zstdError);
}

/** Output buffers' size for streamed NARs by default (at most; a smaller NAR gets one buffer of its size). */
export const LIBZSTD_CHUNK: number = 1024 * 1024;
const MIN_CHUNK = 64 * 1024;

// ZSTD_inBuffer { const void *src; size_t size; size_t pos } then ZSTD_outBuffer { void *dst; size_t size; size_t pos }.
const IN = 0;
const OUT = 24;
const PTR = 0;
const SIZE = 8;
const POS = 16;

type Callback = (err: unknown, ret: number | bigint) => void;

const call = (fn: KoffiFunction, ...args: unknown[]): Promise<number | bigint> =>
  new Promise((resolve, reject) => {
    const done: Callback = (err, r) => (err === null || err === undefined ? resolve(r) : reject(err as Error));
    fn.async(...args, done);
  });

/**
 * Decode a zstd stream of any number of frames (skippable ones skipped) with libzstd
 * (`ZSTD_decompressStream`, windows up to 2^ZSTD_WINDOW_LOG_MAX). Each call runs on libuv's pool and
 * writes on into a buffer of ours; what it wrote is yielded as a view (no copy), and the next call
 * starts before that view is yielded whenever the decoder has work in hand. Input chunks are read
 * where they are and freed once read (owned-chunks.ts). A stream that ends inside a frame, or a
 * corrupt one, throws LibzstdError; an input error passes through. The decoder context is freed once
 * no call runs on it.
 */
export async function* decodeZstdWithLibzstd(
  binding: LibzstdBinding,
  input: AsyncIterable<Uint8Array>,
  narSize?: number,
  chunkSize: number = LIBZSTD_CHUNK,
): AsyncGenerator<Uint8Array> {
  // A NAR smaller than a chunk fills one buffer of its own size.
  const chunk = Math.max(Math.min(MIN_CHUNK, chunkSize), Math.min(chunkSize, narSize ?? chunkSize));
  // Both buffer descriptors live in a Buffer of ours (its backing store never moves), zeroed: no input yet.
  const io = Buffer.allocUnsafeSlow(48).fill(0);
  const fields = new DataView(io.buffer, io.byteOffset, io.byteLength);
  const get = (at: number): number => Number(fields.getBigUint64(at, true));
  const set = (at: number, value: number | bigint): void => fields.setBigUint64(at, BigInt(value), true);
  const inputLeft = (): boolean => get(IN + POS) < get(IN + SIZE);
  const dctx = newContext(binding);
  binding.contexts++;
  const source = input[Symbol.asyncIterator]();
  // The input chunk libzstd reads from: held until it has read all of it.
  let held: Uint8Array | undefined;
  let running: Promise<number | bigint> | undefined;
  // The next input chunk, once libzstd has read the one it holds; false at the end of the input.
  const feed = async (): Promise<boolean> => {
    for (;;) {
      // Read to its end: freed now if it is ours alone (owned-chunks.ts), not at a GC.
      if (held !== undefined) releaseInput(held);
      held = undefined;
      const next = await source.next();
      if (next.done === true) return false;
      if (next.value.length === 0) continue;
      held = next.value;
      set(IN + PTR, binding.address(held));
      set(IN + SIZE, held.length);
      set(IN + POS, 0);
      return true;
    }
  };
  const start = (out: Buffer, filled: number): Promise<number | bigint> => {
    set(OUT + PTR, binding.address(out));
    set(OUT + SIZE, out.length);
    set(OUT + POS, filled);
    running = call(binding.decompressStream, dctx, io.subarray(OUT), io.subarray(IN));
    return running;
  };
  try {
    if (!(await feed())) return;
    let out = Buffer.allocUnsafeSlow(chunk);
    let filled = 0;
    let pending = start(out, filled);
    for (;;) {
      const r = await pending;
      running = undefined;
      if (binding.isError(r) !== 0) throw failure(binding, r, 'could not decode the stream');
      const end = get(OUT + POS);
      const view = out.subarray(filled, end);
      filled = end;
      const full = end === out.length;
      if (full) {
        // The consumer frees the buffer with its last view (owned-chunks.ts).
        markOwned(view, out.length);
        out = Buffer.allocUnsafeSlow(chunk);
        filled = 0;
      }
      // More to do with what it has: input left, or a full buffer with output still held (a
      // return of 0 means a frame is whole and flushed). Then the next call runs while the
      // consumer works; otherwise the output goes first, and then the next input.
      const again = inputLeft() || (full && r !== 0 && r !== 0n);
      if (again) pending = start(out, filled);
      if (view.length > 0) yield view;
      if (again) continue;
      if (!(await feed())) {
        if (r !== 0 && r !== 0n) throw new LibzstdError('zstd stream ends inside a frame; the NAR file is truncated');
        return;
      }
      pending = start(out, filled);
    }
  } finally {
    // The context is freed only once no call is running on it (one may be when the consumer
    // stopped early or the input failed while a call ran).
    if (running !== undefined) await running.catch(() => undefined);
    binding.freeDCtx(dctx);
    binding.contexts--;
    held = undefined;
    await source.return?.(undefined);
  }
}

/**
 * Decode a whole zstd file held in memory with one `ZSTD_decompressDCtx` call on libuv's pool, straight
 * into one buffer of `maxOutput` bytes (no window buffer, no copy), returned as it is when the NAR
 * fills it (cut to size otherwise). The caller has walked the frames and refused windows over
 * 2^ZSTD_WINDOW_LOG_MAX, as the streamed path refuses them (zstd-frames.ts). More than `maxOutput`
 * bytes throws `tooLarge()`; a corrupt or truncated file throws LibzstdError.
 */
export async function decodeZstdWholeWithLibzstd(binding: LibzstdBinding, input: Buffer, maxOutput: number, tooLarge: () => Error): Promise<Buffer | undefined> {
  if (input.length === 0) return undefined;
  // Exactly as large as the NAR may be: more is ZSTD_error_dstSize_tooSmall, i.e. tooLarge().
  const dst = Buffer.allocUnsafeSlow(maxOutput);
  const dctx = newContext(binding);
  binding.contexts++;
  let r: number | bigint;
  try {
    r = await call(binding.decompressDCtx, dctx, dst, maxOutput, input, input.length);
  } finally {
    binding.freeDCtx(dctx);
    binding.contexts--;
  }
  if (binding.isError(r) !== 0) {
    const err = failure(binding, r, 'could not decode the file');
    if (err.zstdError === 'ZSTD_error_dstSize_tooSmall') throw tooLarge();
    throw err;
  }
  const produced = Number(r);
  if (produced > maxOutput) throw tooLarge();
  if (produced === 0) return undefined;
  return produced === maxOutput ? dst : Buffer.from((dst.buffer as ArrayBuffer).transfer(produced));
}
