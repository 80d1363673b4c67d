import { lstat, open, readdir, readlink } from 'node:fs/promises';
import { Readable } from 'node:stream';
import { NarUnsupportedFileError } from './errors.ts';

const READ_CHUNK = 1 << 20;
const FLUSH_AT = 64 * 1024;

/** Serialises NAR tokens into a growing buffer that is flushed in large chunks. */
class TokenBuffer {
  #parts: Buffer[] = [];
  #size = 0;

  get size(): number {
    return this.#size;
  }

  push(buf: Buffer): void {
    this.#parts.push(buf);
    this.#size += buf.length;
  }

  u64(n: number): void {
    const b = Buffer.alloc(8);
    b.writeBigUInt64LE(BigInt(n));
    this.push(b);
  }

  pad(len: number): void {
    const rem = len % 8;
    if (rem !== 0) this.push(Buffer.alloc(8 - rem));
  }

  str(s: string | Buffer): void {
    const b = typeof s === 'string' ? Buffer.from(s, 'utf8') : s;
    this.u64(b.length);
    this.push(b);
    this.pad(b.length);
  }

  take(): Buffer {
    const out = this.#parts.length === 1 ? this.#parts[0]! : Buffer.concat(this.#parts, this.#size);
    this.#parts = [];
    this.#size = 0;
    return out;
  }
}

const slash = Buffer.from('/');

async function* dumpNode(path: Buffer, tokens: TokenBuffer): AsyncGenerator<Buffer> {
  const st = await lstat(path);
  tokens.str('(');
  tokens.str('type');
  if (st.isSymbolicLink()) {
    tokens.str('symlink');
    tokens.str('target');
    tokens.str(await readlink(path, { encoding: 'buffer' }));
  } else if (st.isFile()) {
    tokens.str('regular');
    // Nix marks a file executable when the owner execute bit is set.
    if ((st.mode & 0o100) !== 0) {
      tokens.str('executable');
      tokens.str('');
    }
    tokens.str('contents');
    yield* dumpContents(path, st.size, tokens);
  } else if (st.isDirectory()) {
    tokens.str('directory');
    const names = await readdir(path, { encoding: 'buffer' });
    names.sort(Buffer.compare);
    for (const name of names) {
      tokens.str('entry');
      tokens.str('(');
      tokens.str('name');
      tokens.str(name);
      tokens.str('node');
      yield* dumpNode(Buffer.concat([path, slash, name]), tokens);
      tokens.str(')');
      if (tokens.size >= FLUSH_AT) yield tokens.take();
    }
  } else {
    throw new NarUnsupportedFileError(`${path.toString()}: a NAR holds only regular files, directories and symlinks; found another file type (socket, fifo or device)`);
  }
  tokens.str(')');
}

async function* dumpContents(path: Buffer, size: number, tokens: TokenBuffer): AsyncGenerator<Buffer> {
  tokens.u64(size);
  const fh = await open(path, 'r');
  try {
    let remaining = size;
    // Small files are appended to the token buffer so that many tiny files become one chunk.
    while (remaining > 0) {
      const want = Math.min(remaining, READ_CHUNK);
      const buf = Buffer.allocUnsafe(want);
      const { bytesRead } = await fh.read(buf, 0, want, size - remaining);
      if (bytesRead === 0) throw new NarUnsupportedFileError(`${path.toString()}: file shrank while being archived`);
      remaining -= bytesRead;
      const part = bytesRead === want ? buf : buf.subarray(0, bytesRead);
      if (tokens.size + part.length <= FLUSH_AT) tokens.push(part);
      else {
        if (tokens.size > 0) yield tokens.take();
        yield part;
      }
    }
  } finally {
    await fh.close();
  }
  tokens.pad(size);
}

async function* dumpArchive(path: string): AsyncGenerator<Buffer> {
  const tokens = new TokenBuffer();
  tokens.str('nix-archive-1');
  yield* dumpNode(Buffer.from(path), tokens);
  if (tokens.size > 0) yield tokens.take();
}

/** Serialise the file tree at `path` as a NAR, byte-identical to `nix-store --dump`. */
export function dumpNar(path: string): Readable {
  return Readable.from(dumpArchive(path), { objectMode: false, highWaterMark: 4 << 20 });
}
