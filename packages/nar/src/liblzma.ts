// xz decoded by the system's liblzma (liblzma.so.5, the library the `xz` command itself runs on),
// called in this process through koffi (a C FFI with prebuilt binaries per platform) on libuv's
// pool. Against a decoder process per NAR it saves the process's start (~3.4 ms of CPU each) and
// every byte's trip through two FIFOs and the calling thread's event loop (`xz` writes 8 KiB at a
// time: ~24,000 reads and ~35,000 wake-ups per realise of the *large* closure). README, "xz in
// process, through liblzma".
import { createRequire } from 'node:module';
import { dirname, join } from 'node:path';
import { readFileSync } from 'node:fs';
import { XZ_MEMLIMIT_MIB } from './decode-limits.ts';
import { libraryStatus, loadLibrary, perLibrary, type KoffiFunction } from './koffi.ts';
import { markOwned, releaseInput } from './owned-chunks.ts';

/** The library's name (its soname); `DecoderOptions.xzLibrary` may name another file. */
export const LIBLZMA: string = 'liblzma.so.5';

// lzma_ret values (lzma/base.h).
const LZMA_OK = 0;
const LZMA_STREAM_END = 1;
const LZMA_MEMLIMIT_ERROR = 6;
// lzma_action: LZMA_RUN while more input may come, LZMA_FINISH once all of it is in.
const LZMA_RUN = 0;
const LZMA_FINISH = 3;
// Decode concatenated .xz streams, as `xz -dc` does.
const LZMA_CONCATENATED = 0x08;

const RETURN_NAMES: Record<number, string> = {
  2: 'LZMA_NO_CHECK',
  3: 'LZMA_UNSUPPORTED_CHECK',
  5: 'LZMA_MEM_ERROR',
  6: 'LZMA_MEMLIMIT_ERROR',
  7: 'LZMA_FORMAT_ERROR',
  8: 'LZMA_OPTIONS_ERROR',
  9: 'LZMA_DATA_ERROR',
  10: 'LZMA_BUF_ERROR',
  11: 'LZMA_PROG_ERROR',
};

/**
 * What liblzma said about a stream it could not decode (internal: decompress.ts makes it
 * FLOXK8S_DECOMPRESS_FAILED); `lzmaRet` is the lzma_ret's name.
 */
export class LiblzmaError extends Error {
  readonly lzmaRet: string;
  constructor(ret: number, what: string) {
    const name = RETURN_NAMES[ret] ?? `lzma_ret ${ret}`;
    super(`liblzma ${what}: ${name}${ret === LZMA_MEMLIMIT_ERROR ? ' (Memory usage limit reached)' : ''}`);
    this.name = 'LiblzmaError';
    this.lzmaRet = name;
  }
}

type Callback = (err: unknown, ret: number) => void;

/** The library's entry points and lzma_stream's layout, as loaded. */
interface Binding {
  /** lzma_version_string(), e.g. `5.4.1`. */
  version: string;
  streamDecoder: KoffiFunction;
  code: KoffiFunction;
  end: KoffiFunction;
  address: (value: Uint8Array) => bigint;
  size: number;
  nextIn: number;
  availIn: number;
  nextOut: number;
  availOut: number;
}

let structs = 0;
const bindLiblzma = perLibrary((library: string): Binding | Error => {
  const loaded = loadLibrary('liblzma', library);
  if (loaded instanceof Error) return loaded;
  const { koffi, lib } = loaded;
  const version = lib.func('uint32_t lzma_version_number(void)')() as number;
  // 5.0.0 stable (50000002) has every call used here.
  if (version < 50_000_002) return new Error(`${library} is version ${version}; 5.0.0 or later is needed`);
  const stream = koffi.struct(`lzma_stream_${structs++}`, {
    next_in: 'void *',
    avail_in: 'size_t',
    total_in: 'uint64_t',
    next_out: 'void *',
    avail_out: 'size_t',
    total_out: 'uint64_t',
    allocator: 'void *',
    internal: 'void *',
    reserved_ptr1: 'void *',
    reserved_ptr2: 'void *',
    reserved_ptr3: 'void *',
    reserved_ptr4: 'void *',
    seek_pos: 'uint64_t',
    reserved_int2: 'uint64_t',
    reserved_int3: 'size_t',
    reserved_int4: 'size_t',
    reserved_enum1: 'int',
    reserved_enum2: 'int',
  });
  return {
    version: String(lib.func('const char *lzma_version_string(void)')()),
    streamDecoder: lib.func('int lzma_stream_decoder(void *strm, uint64_t memlimit, uint32_t flags)'),
    code: lib.func('int lzma_code(void *strm, int action)'),
    end: lib.func('void lzma_end(void *strm)'),
    address: (value) => koffi.address(value),
    size: koffi.sizeof(stream),
    nextIn: koffi.offsetof(stream, 'next_in'),
    availIn: koffi.offsetof(stream, 'avail_in'),
    nextOut: koffi.offsetof(stream, 'next_out'),
    availOut: koffi.offsetof(stream, 'avail_out'),
  };
});

/**
 * liblzma through koffi, or why not (memoised per library path): koffi is not installed or has no
 * binary for this platform, the library is missing, or this is not a 64-bit little-endian process
 * (the lzma_stream fields are read as 64-bit little-endian integers).
 */
export function liblzma(library: string = LIBLZMA): Binding | Error {
  return bindLiblzma(library);
}

/**
 * A stream that one call decoded whole into a fresh buffer, as a Buffer that is the whole of its own
 * ArrayBuffer (cut to size when short), marked so that the unpacker frees it once written
 * (owned-chunks.ts) rather than at a GC.
 */
function owned(out: Buffer, produced: number): Buffer {
  const view = produced === out.length ? out : Buffer.from((out.buffer as ArrayBuffer).transfer(produced));
  markOwned(view, produced);
  return view;
}

/** Whether xz decodes through liblzma here (`xzLibrary`, default liblzma.so.5), with its version, or why not. */
export function liblzmaStatus(library?: string): { loaded: true; version: string } | { loaded: false; reason: string } {
  return libraryStatus(liblzma(library));
}

/** Output buffers' size: measured on the *large* closure (store README, "xz in process, through liblzma"). */
export const LIBLZMA_CHUNK: number = 1024 * 1024;
const MIN_CHUNK = 64 * 1024;

/**
 * Decode an xz stream with liblzma (`lzma_stream_decoder`, concatenated streams, the check verified,
 * at most XZ_MEMLIMIT_MIB of memory, as the decoder processes). Each `lzma_code` call runs on
 * libuv's pool and writes on into a buffer of ours; what it wrote is yielded as a view (no copy), and
 * the next call starts before that view is yielded, so decoding runs while the consumer works.
 * Input chunks are read where they are. A failure throws LiblzmaError; an input error passes
 * through. Whatever ends the iteration, liblzma's state is freed once no call is running on it.
 */
export async function* decodeXzWithLiblzma(binding: Binding, input: AsyncIterable<Uint8Array>, narSize?: number): AsyncGenerator<Uint8Array> {
  // A small NAR's whole output fills one buffer exactly, which is then freed once written.
  const chunk = Math.max(MIN_CHUNK, Math.min(LIBLZMA_CHUNK, narSize ?? LIBLZMA_CHUNK));
  // lzma_stream lives in a Buffer of ours: a backing store never moves, and it is zeroed
  // (LZMA_STREAM_INIT). A Buffer of its own, not a slice of Node's pool.
  const strm = Buffer.allocUnsafeSlow(binding.size).fill(0);
  const fields = new DataView(strm.buffer, strm.byteOffset, strm.byteLength);
  const ret = binding.streamDecoder(strm, BigInt(XZ_MEMLIMIT_MIB) << 20n, LZMA_CONCATENATED) as number;
  if (ret !== LZMA_OK) {
    binding.end(strm);
    throw new LiblzmaError(ret, 'could not start a decoder');
  }
  const source = input[Symbol.asyncIterator]();
  // The input chunk liblzma reads from: held until it has read all of it.
  let held: Uint8Array | undefined;
  let inputDone = false;
  let running: Promise<number> | undefined;
  const call = (action: number): Promise<number> =>
    new Promise((resolve, reject) => {
      const done: Callback = (err, r) => (err === null || err === undefined ? resolve(r) : reject(err as Error));
      binding.code.async(strm, action, done);
    });
  // Before each call: the next input chunk, once liblzma has read the one it holds.
  const feed = async (): Promise<void> => {
    while (!inputDone && fields.getBigUint64(binding.availIn, true) === 0n) {
      // Read to its end: freed now if it is ours alone (owned-chunks.ts), not at a GC.
      if (held !== undefined) releaseInput(held);
      const next = await source.next();
      if (next.done === true) {
        inputDone = true;
        held = undefined;
        break;
      }
      if (next.value.length === 0) continue;
      held = next.value;
      fields.setBigUint64(binding.nextIn, binding.address(held), true);
      fields.setBigUint64(binding.availIn, BigInt(held.length), true);
    }
  };
  // Each call writes on into `out` from `filled`, and what it wrote is yielded as a view of `out`; a
  // new buffer is taken once `out` is full. The consumer reads earlier parts of a buffer while a
  // call writes a later part, and frees the buffer with its last view (owned-chunks.ts, as zlib's
  // output), so memory below glibc's mmap threshold is reused rather than faulted in afresh.
  const start = (out: Buffer, filled: number): Promise<number> => {
    fields.setBigUint64(binding.nextOut, binding.address(out) + BigInt(filled), true);
    fields.setBigUint64(binding.availOut, BigInt(out.length - filled), true);
    running = call(inputDone ? LZMA_FINISH : LZMA_RUN);
    return running;
  };
  try {
    await feed();
    let out = Buffer.allocUnsafeSlow(chunk);
    let filled = 0;
    let pending = start(out, filled);
    for (;;) {
      const r = await pending;
      running = undefined;
      if (r !== LZMA_OK && r !== LZMA_STREAM_END) throw new LiblzmaError(r, 'could not decode the stream');
      // A call returns when its output is full or it has read all its input: either way what it
      // wrote is yielded now. (Holding it back until the buffer was full left the consumer idle
      // while liblzma waited for input: 4.28 against 3.84 s per realise of the *large* closure.)
      const end = out.length - Number(fields.getBigUint64(binding.availOut, true));
      if (r === LZMA_STREAM_END) {
        // A whole stream in one piece is cut to size, so that it too can be freed once written.
        if (end > filled) yield filled === 0 ? owned(out, end) : out.subarray(filled, end);
        return;
      }
      const view = out.subarray(filled, end);
      markOwned(view, out.length);
      filled = end;
      if (filled === out.length) {
        out = Buffer.allocUnsafeSlow(chunk);
        filled = 0;
      }
      // With input in hand, the next call starts before this output is yielded, so liblzma decodes
      // while the consumer works; without, the output goes first (the input may take a while).
      const ready = inputDone || fields.getBigUint64(binding.availIn, true) > 0n;
      if (ready) pending = start(out, filled);
      if (view.length > 0) yield view;
      if (!ready) {
        await feed();
        pending = start(out, filled);
      }
    }
  } finally {
    // liblzma's state is freed only once no call is running on it (one may be when the consumer
    // stopped early or the input failed while a call ran).
    if (running !== undefined) await running.catch(() => undefined);
    binding.end(strm);
    held = undefined;
    await source.return?.(undefined);
  }
}

/**
 * The directories of the packages that decoding through liblzma and libzstd loads at run time, resolved from
 * this package: koffi and its prebuilt binary for this platform (`@koromix/koffi-<platform>-<arch>`).
 * A bundle keeps koffi outside (NODE_BUNDLE_OPTIONS.external in @flox-k8s/shim-layout), so whoever
 * ships one copies these into a `node_modules` beside it. Empty when koffi is not installed here.
 */
export function liblzmaRuntimePackages(): Array<{ name: string; dir: string }> {
  const packages: Array<{ name: string; dir: string }> = [];
  // Neither package exports its package.json: each is found from its entry point.
  const koffi = packageRoot(createRequire(import.meta.url), 'koffi');
  if (koffi === undefined) return packages;
  packages.push({ name: 'koffi', dir: koffi });
  const platform = `@koromix/koffi-${process.platform}-${process.arch}`;
  const binary = packageRoot(createRequire(join(koffi, 'package.json')), platform);
  // Without a binary for this platform koffi fails to load and xz falls back to the other decoders.
  if (binary !== undefined) packages.push({ name: platform, dir: binary });
  return packages;
}

/** The directory of the installed package `name` (the nearest one above its entry point whose package.json names it). */
function packageRoot(require: NodeJS.Require, name: string): string | undefined {
  let dir: string;
  try {
    dir = dirname(require.resolve(name));
  } catch {
    return undefined;
  }
  for (;;) {
    try {
      if ((JSON.parse(readFileSync(join(dir, 'package.json'), 'utf8')) as { name?: unknown }).name === name) return dir;
    } catch {
      // No package.json here: look further up.
    }
    const parent = dirname(dir);
    if (parent === dir) return undefined;
    dir = parent;
  }
}
