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
  readonly #hash: Hash = createHash('sha256');
  readonly #maxSize: number;
  readonly #onChunk: ((bytes: number) => void) | undefined;
  #buf: Buffer = empty;
  #pos = 0;
  #size = 0;
  #done = false;

  constructor(source: AsyncIterable<Uint8Array>, maxSize: number, onChunk?: (bytes: number) => void) {
    this.#it = source[Symbol.asyncIterator]();
    this.#maxSize = maxSize;
    this.#onChunk = onChunk;
  }

  /** Bytes read from the source so far. */
  get size(): number {
    return this.#size;
  }

  digest(): string {
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
      this.#hash.update(chunk);
      this.#onChunk?.(chunk.length);
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
