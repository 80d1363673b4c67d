import { createHash } from 'node:crypto';
import { chmodSync, closeSync, constants, fchmodSync, futimesSync, lutimesSync, mkdirSync, openSync, symlinkSync, utimesSync, writeSync } from 'node:fs';
import { Readable } from 'node:stream';
import { chunksOf } from './chunks.ts';
import { AbortedError, NarDestinationError, NarError } from './errors.ts';
import { formatSha256 } from './hash.ts';
import { NarParser, pushNar, type NarHandler, type NarLimits } from './nar-parse.ts';
import { releaseChunk } from './owned-chunks.ts';
import { removeTree } from './remove-tree.ts';

/** Options of unpackNar and hashNar. */
export interface UnpackOptions {
  limits?: NarLimits;
  signal?: AbortSignal;
  /** Called with the NAR bytes of every chunk consumed. */
  onProgress?: (narBytes: number) => void;
}

/** The result of reading a whole NAR. */
export interface NarDigest {
  /** `sha256:<nix32>` of the archive bytes. */
  narHash: string;
  narSize: number;
}

// Nix canonicalises store paths to mtime 1 (one second after the epoch).
const CANONICAL_TIME = 1;
const FILE_FLAGS = constants.O_WRONLY | constants.O_CREAT | constants.O_EXCL | constants.O_NOFOLLOW;
const slash = Buffer.from('/');

function toIterable(source: Readable | AsyncIterable<Uint8Array>): AsyncIterable<Uint8Array> {
  return chunksOf(source);
}

function withSignal(source: AsyncIterable<Uint8Array>, signal: AbortSignal | undefined, sourceErrors: WeakSet<object>): AsyncIterable<Uint8Array> {
  return {
    async *[Symbol.asyncIterator]() {
      try {
        for await (const chunk of source) {
          if (signal?.aborted === true) throw new AbortedError('NAR read aborted', { cause: signal.reason });
          yield chunk;
        }
      } catch (err) {
        // Errors of the source (network, decoder) must reach the caller unchanged.
        if (typeof err === 'object' && err !== null) sourceErrors.add(err);
        throw err;
      }
    },
  };
}

/**
 * Writes parsed nodes below `dest`; every node is created fresh (exclusive create, never following symlinks).
 * File system calls are synchronous on purpose: measured, per-call thread-pool round trips cost more than the
 * page-cache writes themselves, and they would compete with the decompressor for the same cores.
 */
class FsSink implements NarHandler {
  readonly #dest: Buffer;
  readonly #destText: string;
  /** Whether dest itself was created by us (and so must be removed on failure). */
  created = false;
  // The full path of each open directory, by depth (dest itself at 0).
  readonly #dirs: Buffer[] = [];
  #fd = -1;
  #executable = false;

  constructor(dest: string) {
    this.#dest = Buffer.from(dest);
    this.#destText = dest;
  }

  #path(path: readonly Buffer[]): Buffer {
    const depth = path.length;
    if (depth === 0) return this.#dest;
    return Buffer.concat([this.#dirs[depth - 1] as Buffer, slash, path[depth - 1] as Buffer]);
  }

  /** Creates dest itself (the root node): it must not exist, and its parent must. Below it, calls run without this wrapper. */
  #createRoot<T>(create: () => T): T {
    try {
      const out = create();
      this.created = true;
      return out;
    } catch (cause) {
      throw new NarDestinationError(`cannot create unpack destination ${this.#destText}: ${(cause as Error).message}; it must not exist and its parent must`, { cause });
    }
  }

  directory(path: readonly Buffer[]): void {
    // mkdir fails with EEXIST on any existing node, including a planted symlink.
    const p = this.#path(path);
    if (path.length > 0) mkdirSync(p, 0o755);
    else this.#createRoot(() => mkdirSync(p, 0o755));
    this.#dirs[path.length] = p;
  }

  directoryEnd(path: readonly Buffer[]): void {
    const p = this.#dirs[path.length] as Buffer;
    chmodSync(p, 0o555);
    utimesSync(p, CANONICAL_TIME, CANONICAL_TIME);
  }

  fileStart(path: readonly Buffer[], executable: boolean): void {
    const p = this.#path(path);
    this.#fd = path.length > 0 ? openSync(p, FILE_FLAGS, 0o644) : this.#createRoot(() => openSync(p, FILE_FLAGS, 0o644));
    this.#executable = executable;
  }

  fileData(data: Buffer): void {
    // A short write (a nearly full disk) continues; the next call reports ENOSPC.
    for (let off = 0; off < data.length; ) {
      const n = writeSync(this.#fd, data, off, data.length - off);
      if (!(n > 0)) throw Object.assign(new Error(`write(2) returned ${n} with ${data.length - off} bytes left`), { code: 'EIO' });
      off += n;
    }
  }

  fileEnd(): void {
    const fd = this.#fd;
    this.#fd = -1;
    try {
      fchmodSync(fd, this.#executable ? 0o555 : 0o444);
      futimesSync(fd, CANONICAL_TIME, CANONICAL_TIME);
    } finally {
      closeSync(fd);
    }
  }

  /** Closes the file being written, if any (after a failure). */
  abandon(): void {
    if (this.#fd < 0) return;
    try {
      closeSync(this.#fd);
    } catch {
      // Already failed; the tree is removed next.
    }
    this.#fd = -1;
  }

  symlink(path: readonly Buffer[], target: Buffer): void {
    const p = this.#path(path);
    if (path.length > 0) symlinkSync(target, p);
    else this.#createRoot(() => symlinkSync(target, p));
    lutimesSync(p, CANONICAL_TIME, CANONICAL_TIME);
  }
}

const nullHandler: NarHandler = {
  directory() {},
  directoryEnd() {},
  fileStart() {},
  fileData() {},
  fileEnd() {},
  symlink() {},
};

/**
 * Unpack a NAR stream into `dest` (which must not exist; its parent must), hashing as it goes.
 * Files land 0444/0555, directories 0555, all with mtime 1, as in a Nix store.
 * On any failure `dest` is removed and the error (a NarError) is rethrown.
 */
export function unpackNar(source: Readable | AsyncIterable<Uint8Array>, dest: string, opts: UnpackOptions = {}): Promise<NarDigest> {
  return unpackOwnedNar(source, dest, opts, false);
}

/**
 * unpackNar for callers that own the source's chunks (fetchNar: straight from our decoder): with
 * `releaseChunks`, decoder buffers are freed as soon as they are written (owned-chunks.ts).
 */
export async function unpackOwnedNar(source: Readable | AsyncIterable<Uint8Array>, dest: string, opts: UnpackOptions, releaseChunks: boolean): Promise<NarDigest> {
  const sink = new FsSink(dest);
  const sourceErrors = new WeakSet<object>();
  try {
    return await pushNar(withSignal(toIterable(source), opts.signal, sourceErrors), new NarParser(sink, opts.limits), (chunk) => {
      opts.onProgress?.(chunk.length);
      // Parsed, written and hashed: nothing refers to it any more.
      if (releaseChunks) releaseChunk(chunk);
    });
  } catch (err) {
    sink.abandon();
    if (sink.created) await removeTree(dest).catch(() => undefined);
    if (source instanceof Readable) source.destroy();
    if (typeof err === 'object' && err !== null && sourceErrors.has(err)) throw err;
    throw wrapFsError(err, dest);
  }
}

/**
 * Unpack a NAR held in memory (as one or more consecutive parts) into `dest`, like unpackNar, then
 * hash it: one synchronous pass, with no promise per entry. The parts must not change until it settles.
 */
export async function unpackNarBuffers(parts: readonly Buffer[], dest: string, opts: UnpackOptions = {}): Promise<NarDigest> {
  const sink = new FsSink(dest);
  try {
    if (opts.signal?.aborted === true) throw new AbortedError('NAR read aborted', { cause: opts.signal.reason });
    const parser = new NarParser(sink, opts.limits);
    for (const p of parts) if (p.length > 0) parser.push(p);
    parser.end();
    // On this thread: WebCrypto's async digest would first copy the whole NAR (see fetch-nar.ts).
    const hash = createHash('sha256');
    for (const p of parts) hash.update(p);
    return { narHash: formatSha256(hash.digest()), narSize: parser.size };
  } catch (err) {
    sink.abandon();
    if (sink.created) await removeTree(dest).catch(() => undefined);
    throw wrapFsError(err, dest);
  }
}

function wrapFsError(err: unknown, dest: string): unknown {
  if (err instanceof NarError) return err;
  if (err instanceof Error && 'code' in err && typeof err.code === 'string' && err.code.startsWith('E')) {
    return new NarDestinationError(`writing the NAR below ${dest} failed: ${err.message}`, { cause: err });
  }
  return err;
}

/** Hash and validate a NAR without writing it anywhere. */
export async function hashNar(source: Readable | AsyncIterable<Uint8Array>, opts: UnpackOptions = {}): Promise<NarDigest> {
  return pushNar(withSignal(toIterable(source), opts.signal, new WeakSet()), new NarParser(nullHandler, opts.limits), (chunk) => opts.onProgress?.(chunk.length));
}
