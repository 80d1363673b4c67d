import { execFile, spawn } from 'node:child_process';
import { Readable, pipeline } from 'node:stream';
import { isMainThread } from 'node:worker_threads';
import { chunksOf } from './chunks.ts';
import { decodeVerdict, decoderOption } from './decode-limits.ts';
import { DecoderNotStartedError, decodeWithCommand, spawnerAvailable } from './decoder-processes.ts';
import { LIBLZMA, decodeXzWithLiblzma, liblzma } from './liblzma.ts';
import { LIBZSTD, decodeZstdWithLibzstd, libzstd, type LibzstdBinding } from './libzstd.ts';
import { CompressionUnsupportedError, DecompressError, NarError } from './errors.ts';
import { decodeZstdFrames } from './zstd-frames.ts';

/** The compressions a binary cache may use for NARs that we can decode. */
export const supportedCompressions: readonly string[] = ['none', 'zstd', 'xz', 'bzip2'];

// zstd defaults, measured (bench/unpack.ts, bench/rss.ts, README): 512 KiB output chunks, 512 KiB
// decoded ahead, fed up to 1 MiB of input at a time (fetch-nar.ts). zlib needs a main-thread callback
// (a thread hand-off) per output chunk, so the decoder cannot run far ahead anyway: 8 MiB of
// read-ahead cost ~13 MB of peak RSS for no speed. On the *large* fixture's 127 MB NAR alone, 1 MiB
// chunks fed 1 MiB of input took 163 ms of CPU (36 ms on the calling thread) against 259 ms (89 ms)
// with 256 KiB chunks fed 64 KiB reads. With more NARs streamed at once (WHOLE_NAR_MAX_BYTES 4 MiB),
// 512 KiB chunks and read-ahead were as fast as 1 MiB or a little faster, for the same peak RSS; the
// gain itself came from streaming those NARs (store README, "Smaller whole NARs, smaller zstd chunks").
const ZSTD_CHUNK = 512 * 1024;
const ZSTD_READ_AHEAD = 512 * 1024;

/**
 * How to decode xz and bzip2. xz: `'auto'` (default) decodes with the system's liblzma in this
 * process, on libuv's pool (liblzma.ts), when koffi and the library load; otherwise as before it had
 * them: NARs of at most `xzInProcessMaxNarSize` bytes in WASM on the calling thread, where a process's
 * start and its FIFOs cost more than the decoding, and larger ones in an `xz -dc` process, when the
 * command runs. `'liblzma'`, `'subprocess'` and `'wasm'` force one decoder. A decoder process runs on
 * another core; Node cannot start one without forking itself, at a cost that grows with its resident
 * memory (bench/spawn-cost.ts: 1.6-2.6 ms at 53-71 MB, 6.5-18.5 ms at 158-174 MB), so these processes
 * are started by a small `sh` of our own, started once (decoder-processes.ts). bzip2 always decodes
 * in a process. BinaryCacheClient runs at most `processes` decodes of NARs larger than
 * `xzInProcessMaxNarSize` (xz through liblzma or a process, bzip2) at once.
 */
export interface DecoderOptions {
  xz?: 'auto' | 'liblzma' | 'subprocess' | 'wasm';
  /** With `xz: 'auto'` and no liblzma: NARs up to this size (from the narinfo's NarSize) decode in WASM (default 256 KiB); larger ones take a decoder slot. */
  xzInProcessMaxNarSize?: number;
  /** The liblzma file to load (default `liblzma.so.5`, found as dlopen(3) finds libraries). */
  xzLibrary?: string;
  /** The xz decoder (default `xz`); it must take xz-utils' `-dc` and `--memlimit-decompress=` (XZ_MEMLIMIT_MIB). */
  xzCommand?: string;
  bzip2Command?: string;
  /** Decodes of large xz NARs and bzip2 ones one BinaryCacheClient runs at once (default: the number of cores); the others' downloads wait. */
  processes?: number;
  /**
   * zstd: `'auto'` (default) decodes with the system's libzstd through koffi, on libuv's pool, when
   * both load (libzstd.ts), else with Node's zlib; `'libzstd'` and `'zlib'` force one.
   */
  zstd?: 'auto' | 'libzstd' | 'zlib';
  /** The libzstd file to load (default `libzstd.so.1`, found as dlopen(3) finds libraries). */
  zstdLibrary?: string;
  /** zstd output chunk size in bytes (default 512 KiB with zlib, 1 MiB with libzstd). */
  zstdChunkSize?: number;
  /** zstd bytes decoded ahead of the consumer with zlib (default 512 KiB). */
  zstdReadAhead?: number;
}

// Measured on the *large* closure (store README, "xz through decoder processes"): NARs of up to
// 256 KiB decode in-process.
const XZ_IN_PROCESS_MAX_NAR_SIZE = 256 * 1024;

/** What the caller knows of the stream (from the narinfo). */
export interface DecodeHint {
  narSize?: number;
}

const available = new Map<string, Promise<boolean>>();

/** Whether `<command> --version` runs (memoised per command). */
function commandRuns(command: string): Promise<boolean> {
  let p = available.get(command);
  if (p === undefined) {
    p = new Promise((resolve) => execFile(command, ['--version'], { timeout: 10_000 }, (err) => resolve(err === null)));
    available.set(command, p);
  }
  return p;
}

/** Decode a compressed NAR stream. Decoder failures become DecompressError (FLOXK8S_DECOMPRESS_FAILED); input errors pass through. */
export function decompress(compression: string, input: AsyncIterable<Uint8Array>, opts: DecoderOptions = {}, hint: DecodeHint = {}): AsyncIterable<Uint8Array> {
  switch (compression) {
    case 'none':
    case '':
      return input;
    case 'zstd':
      return zstd(input, opts, hint);
    case 'xz':
      return xz(input, opts, hint);
    case 'bzip2':
      return viaProcess(compression, opts.bzip2Command ?? 'bzip2', input);
    default:
      throw new CompressionUnsupportedError(`NAR compression ${JSON.stringify(compression)} is not supported; supported: ${supportedCompressions.join(', ')}`);
  }
}

/** Wraps input so its own errors are recognisable downstream (and not blamed on the decoder). */
function tagged(input: AsyncIterable<Uint8Array>, inputErrors: WeakSet<object>): AsyncGenerator<Uint8Array> {
  return (async function* () {
    try {
      yield* input;
    } catch (err) {
      if (typeof err === 'object' && err !== null) inputErrors.add(err);
      throw err;
    }
  })();
}

function decodeFailure(compression: string, err: unknown, inputErrors: WeakSet<object>): unknown {
  if (err instanceof NarError) return err;
  if (typeof err === 'object' && err !== null && inputErrors.has(err)) return err;
  return new DecompressError(`${compression} decompression failed: ${(err as Error).message}; ${decodeVerdict(compression, err as { code?: unknown; lzmaRet?: unknown; zstdError?: unknown })}`, { cause: err });
}

/**
 * The libzstd this client decodes zstd with, or undefined for Node's zlib (`zstd: 'zlib'`, or
 * `'auto'` where koffi or the library does not load). `zstd: 'libzstd'` without it fails with
 * FLOXK8S_DECOMPRESS_FAILED, saying why.
 */
export function zstdDecoder(opts: DecoderOptions = {}): LibzstdBinding | undefined {
  const mode = opts.zstd ?? 'auto';
  if (mode === 'zlib') return undefined;
  const binding = libzstd(opts.zstdLibrary);
  if (!(binding instanceof Error)) return binding;
  if (mode === 'libzstd') {
    throw new DecompressError(`cannot decode zstd with ${opts.zstdLibrary ?? LIBZSTD}: ${binding.message}; install libzstd (zstd's library) and koffi, or use zstd: 'zlib'`, { cause: binding });
  }
  return undefined;
}

async function* zstd(input: AsyncIterable<Uint8Array>, opts: DecoderOptions, hint: DecodeHint): AsyncGenerator<Uint8Array> {
  const binding = zstdDecoder(opts);
  const inputErrors = new WeakSet<object>();
  try {
    if (binding !== undefined) yield* decodeZstdWithLibzstd(binding, tagged(input, inputErrors), hint.narSize, opts.zstdChunkSize);
    else yield* decodeZstdFrames(tagged(input, inputErrors), opts.zstdChunkSize ?? ZSTD_CHUNK, opts.zstdReadAhead ?? ZSTD_READ_AHEAD);
  } catch (err) {
    throw decodeFailure('zstd', err, inputErrors);
  }
}

/** Decode with `<command> -dc` in a process of its own (decoder-processes.ts): native speed, on another core. */
async function* viaProcess(compression: string, command: string, input: AsyncIterable<Uint8Array>): AsyncGenerator<Uint8Array> {
  if (!isMainThread || !spawnerAvailable(compression, command)) {
    yield* viaSpawn(compression, command, input);
    return;
  }
  const inputErrors = new WeakSet<object>();
  let fallback = false;
  try {
    yield* decodeWithCommand(compression, command, tagged(input, inputErrors));
  } catch (err) {
    if (!(err instanceof DecoderNotStartedError)) throw decodeFailure(compression, err, inputErrors);
    fallback = true;
  }
  // No decoder started and nothing read from the input: fork one directly instead.
  if (fallback) yield* viaSpawn(compression, command, input);
}

/**
 * Whether decoding a NAR of this compression and size takes one of the client's decoder slots: it
 * keeps a core busy for long (an xz NAR larger than `xzInProcessMaxNarSize`, through liblzma or a
 * process; bzip2). Small xz NARs decode without one, as do zstd NARs (on libuv's pool).
 */
export function takesDecoderSlot(compression: string, opts: DecoderOptions = {}, narSize?: number): boolean {
  if (compression === 'bzip2') return true;
  if (compression !== 'xz') return false;
  const mode = opts.xz ?? 'auto';
  if (mode === 'subprocess') return true;
  if (mode === 'wasm') return false;
  return narSize === undefined || narSize > (opts.xzInProcessMaxNarSize ?? XZ_IN_PROCESS_MAX_NAR_SIZE);
}

/** Whether decoding this NAR keeps the calling thread busy: xz in WASM (forced, or small NARs without liblzma). */
export function decodesOnCallingThread(compression: string, opts: DecoderOptions = {}, narSize?: number): boolean {
  if (compression !== 'xz') return false;
  const mode = opts.xz ?? 'auto';
  if (mode === 'wasm') return true;
  if (mode !== 'auto' || !(liblzma(opts.xzLibrary) instanceof Error)) return false;
  return !takesDecoderSlot(compression, opts, narSize);
}

/**
 * Decode in a child process of this thread's own (`<cmd> -dc`), for worker threads: a worker tracks
 * the descriptors it opened with `fs` and closes those still open when it exits (Worker's
 * trackUnmanagedFds, on by default), and a decoder process's FIFOs, handed to a socket, would be
 * among them, closed a second time under whatever reused their numbers.
 */
async function* viaSpawn(compression: string, command: string, input: AsyncIterable<Uint8Array>): AsyncGenerator<Uint8Array> {
  const inputErrors = new WeakSet<object>();
  const option = decoderOption(compression);
  const child = spawn(command, option === undefined ? ['-dc'] : ['-dc', option], { stdio: ['pipe', 'pipe', 'pipe'] });
  let stderr = '';
  child.stderr.setEncoding('utf8');
  child.stderr.on('data', (s: string) => {
    if (stderr.length < 4096) stderr += s;
  });
  const exited = new Promise<{ code: number | null; error?: Error }>((resolve) => {
    child.once('error', (error) => resolve({ code: null, error }));
    child.once('close', (code) => resolve({ code }));
  });
  let feedError: unknown;
  const fed = new Promise<void>((resolve) => {
    pipeline(Readable.from(tagged(input, inputErrors), { objectMode: false }), child.stdin, (err) => {
      // EPIPE when the decoder quit early is reported through its exit status instead.
      if (err && !(typeof err === 'object' && 'code' in err && err.code === 'EPIPE')) feedError = err;
      resolve();
    });
  });
  let finished = false;
  try {
    for await (const chunk of chunksOf(child.stdout)) yield chunk;
    await fed;
    if (feedError !== undefined) throw feedError;
    const { code, error } = await exited;
    if (error !== undefined) {
      throw new DecompressError(`cannot run ${command} to decode ${compression}: ${error.message}; install ${command}`, { cause: error });
    }
    if (code !== 0) throw new DecompressError(`${command} -dc exited with ${code}: ${stderr.trim()}; ${decodeVerdict(compression, { stderr })}`);
    finished = true;
  } catch (err) {
    throw decodeFailure(compression, err, inputErrors);
  } finally {
    if (!finished) child.kill('SIGKILL');
  }
}

async function* xz(input: AsyncIterable<Uint8Array>, opts: DecoderOptions, hint: DecodeHint): AsyncGenerator<Uint8Array> {
  const command = opts.xzCommand ?? 'xz';
  const mode = opts.xz ?? 'auto';
  if (mode === 'auto' || mode === 'liblzma') {
    const binding = liblzma(opts.xzLibrary);
    if (!(binding instanceof Error)) {
      const inputErrors = new WeakSet<object>();
      try {
        yield* decodeXzWithLiblzma(binding, tagged(input, inputErrors), hint.narSize);
      } catch (err) {
        throw decodeFailure('xz', err, inputErrors);
      }
      return;
    }
    if (mode === 'liblzma') {
      throw new DecompressError(`cannot decode xz with ${opts.xzLibrary ?? LIBLZMA}: ${binding.message}; install liblzma (xz-utils' library) and koffi, or use another xz decoder`, { cause: binding });
    }
  }
  if (mode === 'subprocess' || (takesDecoderSlot('xz', opts, hint.narSize) && (await commandRuns(command)))) {
    yield* viaProcess('xz', command, input);
    return;
  }
  // Loaded on first use: the WASM decoder is only the fallback. It is a CommonJS (UMD) module.
  type XzModule = { XzReadableStream: new (s: ReadableStream<Uint8Array>) => ReadableStream<Uint8Array> };
  const mod = (await import('xz-decompress')) as unknown as XzModule & { default?: XzModule };
  const XzReadableStream = mod.default?.XzReadableStream ?? mod.XzReadableStream;
  const inputErrors = new WeakSet<object>();
  const source = tagged(input, inputErrors);
  try {
    yield* new XzReadableStream(pulledStream(source)) as unknown as AsyncIterable<Uint8Array>;
  } catch (err) {
    throw decodeFailure('xz', err, inputErrors);
  } finally {
    // The decoder neither cancels nor drains its input when it fails: end it here, so the
    // download stops and nothing is left reading.
    await source.return(undefined).catch(() => undefined);
  }
}

/**
 * A web stream that takes one chunk from `source` per pull. Not `Readable.toWeb(Readable.from(…))`:
 * that adapter keeps its Node stream flowing, and when the reader is cancelled while a read is
 * scheduled, the next chunk is enqueued into the closed controller and throws
 * ERR_INVALID_STATE from an event handler, which ends the process (seen with a corrupt xz NAR
 * failing while other NARs of the closure were still decoding).
 */
function pulledStream(source: AsyncGenerator<Uint8Array>): ReadableStream<Uint8Array> {
  return new ReadableStream<Uint8Array>(
    {
      async pull(controller) {
        const next = await source.next();
        if (next.done === true) controller.close();
        else controller.enqueue(next.value);
      },
      async cancel() {
        await source.return(undefined);
      },
    },
    { highWaterMark: 0 },
  );
}
