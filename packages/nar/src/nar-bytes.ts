import { createHash, type Hash } from 'node:crypto';
import { NarBadPaddingError, NarLimitError, NarTruncatedError } from './errors.ts';
import { formatSha256 } from './hash.ts';

const empty = Buffer.alloc(0);

/**
 * Pulls bytes from a chunked source, hashing and counting every chunk as it arrives
 * (trailing data is an error, so whole-chunk hashing equals hashing the archive).
 */
export class NarBytes {
  readonly #it: AsyncIterator<Uint8Array>;
  readonly #hash: Hash | undefined;
  readonly #maxSize: number;
  readonly #onChunk: ((bytes: number) => void) | undefined;
  readonly #release: ((chunk: Buffer) => void) | undefined;
  #buf: Buffer = empty;
  // The chunk before #buf: views of it (a token read just before a fill) may still be in use.
  #prev: Buffer | undefined;
  #pos = 0;
  #size = 0;
  #done = false;

  /**
   * `release` is called with each chunk once no view of it can be in use (two chunks later).
   * With `hash` false the caller hashes the archive itself and digest() must not be called.
   */
  constructor(source: AsyncIterable<Uint8Array>, maxSize: number, onChunk?: (bytes: number) => void, release?: (chunk: Buffer) => void, hash = true) {
    this.#it = source[Symbol.asyncIterator]();
    this.#hash = hash ? createHash('sha256') : undefined;
    this.#maxSize = maxSize;
    this.#onChunk = onChunk;
    this.#release = release;
  }

  /** Bytes read from the source so far. */
  get size(): number {
    return this.#size;
  }

  digest(): string {
    if (this.#hash === undefined) throw new Error('NarBytes: digest() of a reader made without hashing');
    return formatSha256(this.#hash.digest());
  }

  async #fill(): Promise<boolean> {
    while (!this.#done) {
      const r = await this.#it.next();
      if (r.done === true) {
        this.#done = true;
        return false;
      }
      const chunk = r.value;
      if (chunk.length === 0) continue;
      this.#size += chunk.length;
      if (this.#size > this.#maxSize) {
        throw new NarLimitError(`NAR exceeds the size limit of ${this.#maxSize} bytes; raise limits.maxNarSize if this archive is expected`);
      }
      this.#hash?.update(chunk);
      this.#onChunk?.(chunk.length);
      if (this.#release !== undefined) {
        if (this.#prev !== undefined) this.#release(this.#prev);
        this.#prev = this.#buf;
      }
      this.#buf = Buffer.isBuffer(chunk) ? chunk : Buffer.from(chunk.buffer, chunk.byteOffset, chunk.length);
      this.#pos = 0;
      return true;
    }
    return false;
  }

  /** Read exactly n bytes (n is small: a token or name). */
  async read(n: number, what: string): Promise<Buffer> {
    const avail = this.#buf.length - this.#pos;
    if (avail >= n) {
      const out = this.#buf.subarray(this.#pos, this.#pos + n);
      this.#pos += n;
      return out;
    }
    const out = Buffer.allocUnsafe(n);
    let got = 0;
    while (got < n) {
      if (this.#pos >= this.#buf.length && !(await this.#fill())) {
        throw new NarTruncatedError(`NAR ended after ${this.#size} bytes while reading ${what}; the download or file is incomplete`);
      }
      const take = Math.min(n - got, this.#buf.length - this.#pos);
      this.#buf.copy(out, got, this.#pos, this.#pos + take);
      this.#pos += take;
      got += take;
    }
    return out;
  }

  async u64(what: string): Promise<number> {
    const b = await this.read(8, what);
    const lo = b.readUInt32LE(0);
    const hi = b.readUInt32LE(4);
    if (hi > 0x1fffff) throw new NarLimitError(`absurd length ${b.readBigUInt64LE(0)} for ${what}`);
    return hi * 0x100000000 + lo;
  }

  /** Consume and check the zero padding after a string of `len` bytes. */
  async padding(len: number, what: string): Promise<void> {
    const rem = len % 8;
    if (rem === 0) return;
    const pad = await this.read(8 - rem, `padding of ${what}`);
    for (const byte of pad) {
      if (byte !== 0) throw new NarBadPaddingError(`non-zero padding byte after ${what} at offset ${this.#size - (this.#buf.length - this.#pos)}; NAR padding must be zero`);
    }
  }

  // Fast paths: most tokens lie wholly inside the current chunk, and parsing them there without
  // an await (a promise and a microtask each) halved the parser's share of unpacking a NAR of
  // many small files. They consume nothing and return undefined on anything unusual (chunk end,
  // limits, bad padding) so that the awaiting path above reads the same bytes and reports errors.

  /** A u64 (at most 2^53) if its 8 bytes are in the current chunk. */
  tryU64(): number | undefined {
    const buf = this.#buf;
    const p = this.#pos;
    if (buf.length - p < 8) return undefined;
    const hi = buf.readUInt32LE(p + 4);
    if (hi > 0x1fffff) return undefined;
    this.#pos = p + 8;
    return hi * 0x100000000 + buf.readUInt32LE(p);
  }

  /** A length-prefixed, zero-padded string of at most `max` bytes if it is wholly in the current chunk (a view of it). */
  tryString(max: number): Buffer | undefined {
    const buf = this.#buf;
    const p = this.#pos;
    if (buf.length - p < 8 || buf.readUInt32LE(p + 4) !== 0) return undefined;
    const len = buf.readUInt32LE(p);
    if (len > max) return undefined;
    const end = p + 8 + len;
    const padded = p + 8 + ((len + 7) & ~7);
    if (padded > buf.length) return undefined;
    for (let i = end; i < padded; i++) if (buf[i] !== 0) return undefined;
    this.#pos = padded;
    return buf.subarray(p + 8, end);
  }

  /** Consume the zero padding after `len` bytes if it is in the current chunk and zero; false otherwise. */
  tryPadding(len: number): boolean {
    const rem = len % 8;
    if (rem === 0) return true;
    const buf = this.#buf;
    const p = this.#pos;
    const end = p + 8 - rem;
    if (end > buf.length) return false;
    for (let i = p; i < end; i++) if (buf[i] !== 0) return false;
    this.#pos = end;
    return true;
  }

  /** Yield exactly n bytes as slices of the source chunks, without copying. */
  async *stream(n: number, what: string): AsyncGenerator<Buffer> {
    let remaining = n;
    while (remaining > 0) {
      if (this.#pos >= this.#buf.length && !(await this.#fill())) {
        throw new NarTruncatedError(`NAR ended after ${this.#size} bytes with ${remaining} bytes of ${what} missing; the download or file is incomplete`);
      }
      const take = Math.min(remaining, this.#buf.length - this.#pos);
      const out = this.#buf.subarray(this.#pos, this.#pos + take);
      this.#pos += take;
      remaining -= take;
      yield out;
    }
  }

  /** True when the source has no more bytes. */
  async atEnd(): Promise<boolean> {
    if (this.#pos < this.#buf.length) return false;
    return !(await this.#fill());
  }

  /** Stop pulling from the source (lets it clean up). */
  async close(): Promise<void> {
    await this.#it.return?.();
  }
}
