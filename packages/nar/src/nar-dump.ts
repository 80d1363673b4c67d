import { createHash } from 'node:crypto';
import { closeSync, lstatSync, openSync, readSync, readdirSync, readlinkSync } from 'node:fs';
import { Readable } from 'node:stream';
import { NarError, NarUnsupportedFileError } from './errors.ts';
import { formatSha256 } from './hash.ts';

// The archive is produced in fixed-size chunks: tokens are written into the chunk and file contents
// are read straight into it (one readSync per chunk, no concatenation). dumpNarSync reuses one 64 KiB
// buffer, as nix-store does. dumpNar must hand out a fresh buffer per chunk (a Readable cannot know
// when its consumer is done with one), and fresh memory is what costs, not the NAR or the stream:
// V8 frees dead buffers only at GCs (~64 MB of allocation apart), so reads land in memory that is
// out of the cache and often not mapped (a page fault per 4 KiB, 1.5-2.3 us here). bench/dump.ts's
// floor, the same walk reading into fresh buffers with no NAR and no stream, takes 1.3-1.7x the time
// of nix-store --dump, and reading into one reused buffer 0.6-0.8x. The chunk size barely matters to a
// consumer that writes at once (64 KiB-1 MiB within noise, 2-4 MiB worse: more faults); 1 MiB cuts the
// thread-pool writes of a pipeline into a WriteStream fourfold (1.6-1.85x against 2.1x with 256 KiB). Reading
// big files on the thread pool while walking on (fs.read into their own slices) measured no better
// on this shared 2-core VM and cost 15-25% more CPU.
const SYNC_CHUNK = 64 * 1024;
/** Size of dumpNar's chunks (the last one is shorter). */
export const STREAM_CHUNK: number = 1024 * 1024;

const slash = Buffer.from('/');
const enc = (s: string): Buffer => {
  const b = Buffer.from(s);
  const out = Buffer.alloc(8 + Math.ceil(b.length / 8) * 8);
  out.writeUInt32LE(b.length, 0);
  b.copy(out, 8);
  return out;
};
// Pre-encoded tokens: most of a NAR's structure is these few strings.
const T = {
  magic: enc('nix-archive-1'),
  // '(' 'type' 'symlink' 'target' / '(' 'type' 'regular' [ 'executable' '' ] 'contents' / '(' 'type' 'directory'
  symlink: Buffer.concat([enc('('), enc('type'), enc('symlink'), enc('target')]),
  regular: Buffer.concat([enc('('), enc('type'), enc('regular'), enc('contents')]),
  executable: Buffer.concat([enc('('), enc('type'), enc('regular'), enc('executable'), enc(''), enc('contents')]),
  directory: Buffer.concat([enc('('), enc('type'), enc('directory')]),
  entry: Buffer.concat([enc('entry'), enc('('), enc('name')]),
  node: enc('node'),
  close: enc(')'),
};

/** Where the walk writes the archive (internal: the chunked writer below, and nar-dump-bytes.ts's). */
export interface NarWriter {
  put(bytes: Buffer): void;
  u64(n: number): void;
  pad(len: number): void;
  str(s: Buffer): void;
  /** Read up to `want` bytes of `fd` at `position` into the output; returns the count (0: no room now, call again after a yield). */
  read(fd: number, want: number, position: number, path: Buffer): number;
  end(): void;
}

/** Fills fixed-size chunks with NAR bytes and hands each full one to `emit`. */
class ChunkWriter implements NarWriter {
  readonly #next: () => Buffer;
  readonly #emit: (chunk: Buffer) => void;
  #buf: Buffer;
  #pos = 0;
  readonly #size: number;

  constructor(next: () => Buffer, emit: (chunk: Buffer) => void) {
    this.#next = next;
    this.#emit = emit;
    this.#buf = next();
    this.#size = this.#buf.length;
  }

  #flush(): void {
    this.#emit(this.#buf);
    this.#buf = this.#next();
    this.#pos = 0;
  }

  put(bytes: Buffer): void {
    let off = 0;
    while (off < bytes.length) {
      if (this.#pos === this.#size) this.#flush();
      const n = bytes.copy(this.#buf, this.#pos, off);
      this.#pos += n;
      off += n;
    }
  }

  u64(n: number): void {
    if (this.#size - this.#pos < 8) this.#flush();
    this.#buf.writeUInt32LE(n % 0x100000000, this.#pos);
    this.#buf.writeUInt32LE(Math.floor(n / 0x100000000), this.#pos + 4);
    this.#pos += 8;
  }

  pad(len: number): void {
    const rem = len % 8;
    if (rem === 0) return;
    if (this.#size - this.#pos < 8 - rem) this.#flush();
    this.#buf.fill(0, this.#pos, this.#pos + 8 - rem);
    this.#pos += 8 - rem;
  }

  str(s: Buffer): void {
    this.u64(s.length);
    this.put(s);
    this.pad(s.length);
  }

  /** Read up to `want` bytes of `fd` at `position` straight into the chunk (at most to its end); returns the count. */
  read(fd: number, want: number, position: number, path: Buffer): number {
    if (this.#pos === this.#size) this.#flush();
    const got = readSync(fd, this.#buf, this.#pos, Math.min(this.#size - this.#pos, want), position);
    if (got === 0) throw new NarUnsupportedFileError(`${path.toString()}: file shrank while being archived`);
    this.#pos += got;
    return got;
  }

  /** Emit the partly filled last chunk. */
  end(): void {
    if (this.#pos > 0) this.#emit(this.#buf.subarray(0, this.#pos));
    this.#pos = 0;
  }
}

// A synchronous walk: blocking calls in bounded slices (the stream's read-ahead) measured ~3x
// faster than a thread-pool round trip per lstat/open/read.
function* dumpNode(path: Buffer, out: NarWriter): Generator<void> {
  const st = lstatSync(path);
  if (st.isSymbolicLink()) {
    out.put(T.symlink);
    out.str(readlinkSync(path, { encoding: 'buffer' }));
  } else if (st.isFile()) {
    // Nix marks a file executable when the owner execute bit is set.
    out.put((st.mode & 0o100) !== 0 ? T.executable : T.regular);
    out.u64(st.size);
    if (st.size > 0) {
      const fd = openSync(path, 'r');
      try {
        for (let done = 0; done < st.size; ) {
          done += out.read(fd, st.size - done, done, path);
          // Let the consumer take chunks as we go: a big file must not queue up in memory.
          yield;
        }
      } finally {
        closeSync(fd);
      }
    }
    out.pad(st.size);
  } else if (st.isDirectory()) {
    out.put(T.directory);
    const names = readdirSync(path, { encoding: 'buffer' });
    names.sort(Buffer.compare);
    for (const name of names) {
      out.put(T.entry);
      out.str(name);
      out.put(T.node);
      yield* dumpNode(Buffer.concat([path, slash, name]), out);
      out.put(T.close);
      yield;
    }
  } else {
    throw new NarUnsupportedFileError(`${path.toString()}: a NAR holds only regular files, directories and symlinks; found another file type (socket, fifo or device)`);
  }
  out.put(T.close);
}

/** Yields between steps so that the caller can take the chunks emitted so far (internal). */
export function* dumpArchive(path: string, out: NarWriter): Generator<void> {
  out.put(T.magic);
  yield* dumpNode(Buffer.from(path), out);
  out.end();
}

/**
 * Serialise the file tree at `path` as a NAR, byte-identical to `nix-store --dump`. Errors are NarErrors or fs errors.
 * Every chunk is a fresh buffer that the consumer owns (keep it, transfer it): none is reused or written again.
 */
export function dumpNar(path: string): Readable {
  // Every chunk is a new buffer: a Readable cannot know when its consumer is done with one.
  const ready: Buffer[] = [];
  const steps = dumpArchive(path, new ChunkWriter(() => Buffer.allocUnsafeSlow(STREAM_CHUNK), (chunk) => ready.push(chunk)));
  let ended = false;
  return new Readable({
    highWaterMark: 4 * STREAM_CHUNK,
    read() {
      try {
        for (;;) {
          while (ready.length > 0) {
            if (!this.push(ready.shift())) return;
          }
          if (ended) {
            this.push(null);
            return;
          }
          ended = steps.next().done === true;
        }
      } catch (err) {
        this.destroy(err instanceof NarError || err instanceof Error ? err : new Error(String(err)));
      }
    },
    destroy(err, callback) {
      steps.return(undefined);
      callback(err);
    },
  });
}

/**
 * Serialise the tree at `path` as a NAR synchronously, calling `onChunk` with each piece in order.
 * The chunk is only valid during the call (one buffer is reused, as nix-store does): copy what you keep.
 * Use it to write a NAR to a file descriptor or to hash it without allocating per chunk.
 */
export function dumpNarSync(path: string, onChunk: (chunk: Buffer) => void): void {
  const buffer = Buffer.allocUnsafeSlow(SYNC_CHUNK);
  // Each fill of the buffer is handed out before the next one starts.
  for (const _ of dumpArchive(path, new ChunkWriter(() => buffer, onChunk)));
}

/** `{ narHash, narSize }` of the tree at `path`, computed synchronously with one reused buffer (what `hashNar(dumpNar(path))` computes). */
export function hashPath(path: string): { narHash: string; narSize: number } {
  const hash = createHash('sha256');
  let narSize = 0;
  dumpNarSync(path, (chunk) => {
    hash.update(chunk);
    narSize += chunk.length;
  });
  return { narHash: formatSha256(hash.digest()), narSize };
}
