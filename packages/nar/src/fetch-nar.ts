import { createHash } from 'node:crypto';
import type { Dispatcher } from 'undici';
import type { ClientEvent } from './client-event.ts';
import { chunksOf } from './chunks.ts';
import { decompress, zstdDecoder, type DecoderOptions } from './decompress.ts';
import {
  CacheHttpError,
  FileHashMismatchError,
  FileSizeMismatchError,
  NarHashMismatchError,
  NarSizeMismatchError,
} from './errors.ts';
import { formatSha256 } from './hash.ts';
import { discard, get } from './http.ts';
import { unpackNarBuffers, unpackOwnedNar, type NarDigest } from './nar-unpack.ts';
import type { NarLimits } from './nar-parse.ts';
import type { Narinfo } from './narinfo.ts';
import { removeTree } from './remove-tree.ts';
import { decodeZstdWhole } from './zstd-frames.ts';
import { markInputOwned, releaseWhole } from './owned-chunks.ts';

const PROGRESS_STEP = 1 << 20;
/** Compressed bytes handed to the FileHash and the decoder at most at a time on the streamed path (see chunksOf). */
const STREAM_INPUT_BATCH = 1 << 20;

/**
 * Default of BinaryCacheClientOptions.wholeNarMaxBytes. 4 MiB, measured on the *large* closure (store
 * README, "Smaller whole NARs, smaller zstd chunks"): a NAR of 4-16 MiB streamed is decoded while it
 * arrives and its files are written as they come, where fetched whole it waited for its last byte and
 * took fresh mmaps for its buffers (glibc maps those of 2 MiB and more, FETCH_PROCESS_ENV). Builds
 * before and after, interleaved (8 pairs, tmpfs): the running agent's realise took 10 % less wall and
 * 9 % less CPU for the same peak RSS.
 */
export const WHOLE_NAR_MAX_BYTES: number = 4 * 1024 * 1024;

const wholeBytes = (narinfo: Narinfo): number => (narinfo.fileSize ?? 0) + (narinfo.compression === 'none' ? 0 : narinfo.narSize);

/**
 * Whether a client with this `wholeNarMaxBytes` fetches the NAR whole (memory permitting) rather
 * than streaming it: zstd or uncompressed, with a FileSize, and FileSize + NarSize within the bound.
 */
export function fetchesWhole(narinfo: Narinfo, wholeNarMaxBytes: number = WHOLE_NAR_MAX_BYTES): boolean {
  if (narinfo.fileSize === undefined || (narinfo.compression !== 'zstd' && narinfo.compression !== 'none')) return false;
  return wholeBytes(narinfo) <= wholeNarMaxBytes;
}

/**
 * Memory that whole-NAR fetches (fetchWhole) may hold at once, shared by one client's fetches. A
 * zstd or uncompressed NAR small enough takes FileSize + NarSize from it, or streams when that
 * much is not free.
 */
export class WholeNarBudget {
  readonly #maxNarBytes: number;
  #free: number;

  constructor(maxNarBytes: number, totalBytes: number) {
    this.#maxNarBytes = maxNarBytes;
    this.#free = totalBytes;
  }

  /** Reserves memory for fetching this NAR whole; returns the release function, or undefined to stream it. */
  take(narinfo: Narinfo): (() => void) | undefined {
    if (!fetchesWhole(narinfo, this.#maxNarBytes)) return undefined;
    const bytes = wholeBytes(narinfo);
    if (bytes > this.#free) return undefined;
    this.#free -= bytes;
    let released = false;
    return () => {
      if (!released) this.#free += bytes;
      released = true;
    };
  }
}

/** One download attempt: stream → (FileSize/FileHash check) → decompress → (NarSize check) → unpack + NarHash. */
export async function fetchNarOnce(args: {
  dispatcher: Dispatcher;
  url: string;
  headers: Record<string, string>;
  narinfo: Narinfo;
  dest: string;
  signal: AbortSignal | undefined;
  decoders: DecoderOptions | undefined;
  whole: WholeNarBudget | undefined;
  limits: NarLimits;
  onProgress: (e: ClientEvent) => void;
}): Promise<{ narHash: string; narSize: number; fileSize: number }> {
  const { narinfo, url } = args;
  const body = await get(args.dispatcher, url, args.headers, args.signal);
  if (body === undefined) throw new CacheHttpError(`GET ${url}: the NAR named by the narinfo of ${narinfo.storePath} is missing from the cache`);
  const release = args.whole?.take(narinfo);
  if (release !== undefined) {
    try {
      return await fetchWhole(args, body);
    } finally {
      release();
    }
  }
  let bytesIn = 0;
  let bytesOut = 0;
  let lastReport = 0;
  const report = (done: boolean): void => {
    if (!done && bytesIn + bytesOut - lastReport < PROGRESS_STEP) return;
    lastReport = bytesIn + bytesOut;
    args.onProgress({ type: 'progress', storePath: narinfo.storePath, bytesIn, bytesOut, fileSize: narinfo.fileSize, narSize: narinfo.narSize, done });
  };
  const fileHash = createHash('sha256');
  const compressed = async function* (): AsyncGenerator<Uint8Array> {
    for await (const chunk of chunksOf(body, { batchBytes: STREAM_INPUT_BATCH, releaseJoined: true })) {
      bytesIn += chunk.length;
      if (narinfo.fileSize !== undefined && bytesIn > narinfo.fileSize) {
        throw fileTooLong(url, narinfo.fileSize);
      }
      fileHash.update(chunk);
      // Hashed, and ours alone from here: the decoder frees it once consumed (owned-chunks.ts).
      markInputOwned(chunk);
      report(false);
      yield chunk;
    }
    // Before the decoder or parser sees the end: a short file is reported as such, not as a truncated NAR.
    if (narinfo.fileSize !== undefined && bytesIn !== narinfo.fileSize) throw fileSizeWrong(url, bytesIn, narinfo.fileSize);
  };
  const nar = async function* (): AsyncGenerator<Uint8Array> {
    for await (const chunk of decompress(narinfo.compression, compressed(), args.decoders, { narSize: narinfo.narSize })) {
      bytesOut += chunk.length;
      if (bytesOut > narinfo.narSize) {
        throw narTooLarge(narinfo);
      }
      report(false);
      yield chunk;
    }
  };
  try {
    // The decoded chunks pass only through nar() above: nothing else keeps them, so they can be freed once written.
    const digest = await unpackOwnedNar(nar(), args.dest, { signal: args.signal, limits: args.limits }, true);
    if (narinfo.fileSize !== undefined && bytesIn !== narinfo.fileSize) throw fileSizeWrong(url, bytesIn, narinfo.fileSize);
    checkFileHash(fileHash.digest(), narinfo, url);
    checkNar(digest, narinfo);
    report(true);
    return { narHash: digest.narHash, narSize: digest.narSize, fileSize: bytesIn };
  } catch (err) {
    discard(body);
    await removeTree(args.dest).catch(() => undefined);
    throw err;
  }
}

/**
 * fetchNarOnce for a small NAR (see WholeNarBudget). The file is received into one buffer and
 * hashed (FileHash) as it arrives; zstd decodes it on libuv's thread pool in one call per frame;
 * then the calling thread creates the files and hashes the NAR. The checks and errors are the
 * streamed path's; the per-chunk hand-offs between decoder, stream and parser go away. Both hashes
 * run here, not in WebCrypto's thread pool: an async WebCrypto digest first copies its input into
 * fresh memory, which cost more calling-thread time than hashing (--cpu-prof on *large*: 95 ms of
 * copying for 155 MB) and doubled the memory each NAR holds meanwhile.
 */
async function fetchWhole(
  args: Parameters<typeof fetchNarOnce>[0],
  body: NonNullable<Awaited<ReturnType<typeof get>>>,
): Promise<{ narHash: string; narSize: number; fileSize: number }> {
  const { narinfo, url } = args;
  const fileSize = narinfo.fileSize as number;
  const progress = (bytesIn: number, bytesOut: number, done: boolean): void =>
    args.onProgress({ type: 'progress', storePath: narinfo.storePath, bytesIn, bytesOut, fileSize, narSize: narinfo.narSize, done });
  const file = Buffer.allocUnsafeSlow(fileSize);
  let parts: Buffer[] = [];
  try {
    const fileHash = narinfo.fileHash === undefined ? undefined : createHash('sha256');
    let bytesIn = 0;
    let lastReport = 0;
    for await (const chunk of chunksOf(body)) {
      if (bytesIn + chunk.length > fileSize) throw fileTooLong(url, fileSize);
      file.set(chunk, bytesIn);
      fileHash?.update(chunk);
      bytesIn += chunk.length;
      // Copied and hashed: a socket read of our own dispatcher's body, freed now rather than at a GC.
      releaseWhole(chunk);
      if (bytesIn - lastReport >= PROGRESS_STEP) {
        lastReport = bytesIn;
        progress(bytesIn, 0, false);
      }
    }
    if (bytesIn !== fileSize) throw fileSizeWrong(url, bytesIn, fileSize);
    // The FileHash verdict comes first, as on the streamed path's order of checks for a corrupt file.
    if (fileHash !== undefined) checkFileHash(fileHash.digest(), narinfo, url);
    const tooLarge = (): Error => narTooLarge(narinfo);
    parts = narinfo.compression === 'none' ? [file] : await decodeZstdWhole(file, narinfo.narSize, tooLarge, zstdDecoder(args.decoders));
    // Decoded: the compressed file is not read again, so it need not live through the unpack.
    if (!parts.includes(file)) releaseWhole(file);
    const narBytes = parts.reduce((n, p) => n + p.length, 0);
    if (narBytes > narinfo.narSize) throw tooLarge();
    const digest = await unpackNarBuffers(parts, args.dest, { signal: args.signal, limits: args.limits });
    checkNar(digest, narinfo);
    progress(fileSize, narBytes, true);
    return { narHash: digest.narHash, narSize: digest.narSize, fileSize };
  } catch (err) {
    discard(body);
    await removeTree(args.dest).catch(() => undefined);
    throw err;
  } finally {
    // Both buffers are ours alone and every reader (hash, decoder, unpack) has settled: free them
    // now rather than at a GC, which V8 runs only every ~64 MB of such memory (see owned-chunks.ts).
    releaseWhole(file);
    for (const part of parts) if (part !== file) releaseWhole(part);
  }
}

// The checks and errors both paths share.

const fileTooLong = (url: string, fileSize: number): Error =>
  new FileSizeMismatchError(`${url}: more than the ${fileSize} bytes the narinfo's FileSize promises; the cache serves a different file`);

const fileSizeWrong = (url: string, got: number, fileSize: number): Error =>
  new FileSizeMismatchError(`${url}: downloaded ${got} bytes, the narinfo's FileSize is ${fileSize}`);

const narTooLarge = (narinfo: Narinfo): Error =>
  new NarSizeMismatchError(`NAR of ${narinfo.storePath} is larger than the narinfo's NarSize ${narinfo.narSize}; the cache serves a different NAR`);

function checkFileHash(digest: Buffer, narinfo: Narinfo, url: string): void {
  if (narinfo.fileHash === undefined) return;
  const got = formatSha256(digest);
  if (got !== narinfo.fileHash) throw new FileHashMismatchError(`${url}: FileHash is ${got}, the narinfo says ${narinfo.fileHash}; the file was altered or corrupted`);
}

function checkNar(digest: NarDigest, narinfo: Narinfo): void {
  if (digest.narSize !== narinfo.narSize) {
    throw new NarSizeMismatchError(`NAR of ${narinfo.storePath} is ${digest.narSize} bytes, the narinfo's NarSize is ${narinfo.narSize}`);
  }
  if (digest.narHash !== narinfo.narHash) {
    throw new NarHashMismatchError(`NAR of ${narinfo.storePath} hashes to ${digest.narHash}, the narinfo says ${narinfo.narHash}; the cache served altered content`);
  }
}
