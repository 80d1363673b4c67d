import type { Transform, TransformOptions } from 'node:stream';
import { promisify } from 'node:util';
import { constants, createZstdDecompress, zstdDecompress, type ZstdOptions } from 'node:zlib';
import { chunksOf, drainedOrClosed } from './chunks.ts';
import { decodeVerdict, ZSTD_WINDOW_LOG_MAX } from './decode-limits.ts';
import { DecompressError } from './errors.ts';
import { decodeZstdWholeWithLibzstd, LibzstdError, type LibzstdBinding } from './libzstd.ts';
import { markOwned, markWholeOwned, releaseInput } from './owned-chunks.ts';

// Node's zstd decoder stops at the end of the first frame (Node 24: later frames are dropped
// silently or fail with "Unknown frame descriptor"), but zstd files may hold many frames
// (pzstd, `zstd --adapt`, concatenation). So we find frame boundaries by walking frame and
// block headers, which is cheap (blocks are <= 128 KiB), and give each frame its own decoder.

const ZSTD_MAGIC = 0xfd2fb528;
const SKIPPABLE_MASK = 0xfffffff0;
const SKIPPABLE_MAGIC = 0x184d2a50;

type State =
  | { kind: 'magic' }
  | { kind: 'descriptor' }
  | { kind: 'header'; checksum: boolean; singleSegment: boolean }
  | { kind: 'blockHeader'; checksum: boolean }
  | { kind: 'skip'; remaining: number; then: 'blockHeader' | 'checksum' | 'end'; checksum: boolean }
  | { kind: 'skippableSize' }
  | { kind: 'end' };

/** Walks one zstd (or skippable) frame byte by byte, without decoding it. */
class FrameWalker {
  #state: State = { kind: 'magic' };
  #need = 4;
  #acc: number[] = [];
  /** The largest window a frame walked so far declares, in bytes (a single-segment frame declares none). */
  maxWindow = 0;

  get done(): boolean {
    return this.#state.kind === 'end';
  }

  /** Consume from `chunk[offset..]` up to the end of the frame; returns the offset where the frame ends or the chunk does. */
  advance(chunk: Buffer, offset: number): number {
    let i = offset;
    while (i < chunk.length && this.#state.kind !== 'end') {
      const s = this.#state;
      if (s.kind === 'skip') {
        const take = Math.min(s.remaining, chunk.length - i);
        s.remaining -= take;
        i += take;
        if (s.remaining === 0) this.#afterSkip(s);
        continue;
      }
      this.#acc.push(chunk[i++]!);
      if (this.#acc.length < this.#need) continue;
      const bytes = this.#acc;
      this.#acc = [];
      this.#onBytes(s, bytes);
    }
    return i;
  }

  #afterSkip(s: Extract<State, { kind: 'skip' }>): void {
    if (s.then === 'blockHeader') this.#go({ kind: 'blockHeader', checksum: s.checksum }, 3);
    else if (s.then === 'checksum') this.#go({ kind: 'skip', remaining: 4, then: 'end', checksum: false }, 0);
    else this.#go({ kind: 'end' }, 0);
  }

  #go(state: State, need: number): void {
    this.#state = state;
    this.#need = need;
    if (state.kind === 'skip' && state.remaining === 0) this.#afterSkip(state);
  }

  #onBytes(s: State, b: number[]): void {
    switch (s.kind) {
      case 'magic': {
        const magic = (b[0]! | (b[1]! << 8) | (b[2]! << 16) | (b[3]! << 24)) >>> 0;
        if (magic === ZSTD_MAGIC) return this.#go({ kind: 'descriptor' }, 1);
        if (((magic & SKIPPABLE_MASK) >>> 0) === SKIPPABLE_MAGIC) return this.#go({ kind: 'skippableSize' }, 4);
        throw new DecompressError(`not a zstd frame: magic 0x${magic.toString(16)}; the NAR file is corrupt or not zstd`);
      }
      case 'descriptor': {
        const d = b[0]!;
        const fcsFlag = d >> 6;
        const singleSegment = (d & 0x20) !== 0;
        if ((d & 0x08) !== 0) throw new DecompressError('zstd frame header has its reserved bit set; the NAR file is corrupt');
        const dictBytes = [0, 1, 2, 4][d & 3]!;
        const fcsBytes = fcsFlag === 0 ? (singleSegment ? 1 : 0) : [0, 2, 4, 8][fcsFlag]!;
        const rest = (singleSegment ? 0 : 1) + dictBytes + fcsBytes;
        const checksum = (d & 0x04) !== 0;
        if (rest === 0) return this.#go({ kind: 'blockHeader', checksum }, 3);
        return this.#go({ kind: 'header', checksum, singleSegment }, rest);
      }
      case 'header':
        // The window descriptor (RFC 8878, 3.1.1.1.2): exponent and mantissa.
        if (!s.singleSegment) {
          const base = 2 ** ((b[0]! >> 3) + 10);
          this.maxWindow = Math.max(this.maxWindow, base + (base / 8) * (b[0]! & 7));
        }
        return this.#go({ kind: 'blockHeader', checksum: s.checksum }, 3);
      case 'blockHeader': {
        const h = b[0]! | (b[1]! << 8) | (b[2]! << 16);
        const last = (h & 1) === 1;
        const type = (h >> 1) & 3;
        const size = h >>> 3;
        if (type === 3) throw new DecompressError('zstd block has the reserved type; the NAR file is corrupt');
        const body = type === 1 ? 1 : size;
        return this.#go({ kind: 'skip', remaining: body, then: last ? (s.checksum ? 'checksum' : 'end') : 'blockHeader', checksum: s.checksum }, 0);
      }
      case 'skippableSize': {
        const size = (b[0]! | (b[1]! << 8) | (b[2]! << 16) | (b[3]! << 24)) >>> 0;
        return this.#go({ kind: 'skip', remaining: size, then: 'end', checksum: false }, 0);
      }
      default:
        return;
    }
  }
}

/** Decode a zstd stream of one or more frames; each frame gets a fresh zlib decoder with a large output chunk. */
export async function* decodeZstdFrames(input: AsyncIterable<Uint8Array>, chunkSize: number, readAhead: number): AsyncGenerator<Uint8Array> {
  const it = input[Symbol.asyncIterator]();
  let pending: Buffer | undefined;
  const nextChunk = async (): Promise<Buffer | undefined> => {
    if (pending !== undefined) {
      const p = pending;
      pending = undefined;
      return p;
    }
    for (;;) {
      const r = await it.next();
      if (r.done === true) return undefined;
      if (r.value.length > 0) return Buffer.from(r.value.buffer, r.value.byteOffset, r.value.length);
    }
  };
  try {
    for (;;) {
      // Gather at least the 4 magic bytes to tell a skippable frame from a zstd frame.
      let head = await nextChunk();
      if (head === undefined) return;
      while (head.length < 4) {
        const more = await nextChunk();
        if (more === undefined) throw new DecompressError('zstd stream ends inside a frame header; the NAR file is truncated');
        head = Buffer.concat([head, more]);
      }
      pending = head;
      const skippable = ((head.readUInt32LE(0) & SKIPPABLE_MASK) >>> 0) === SKIPPABLE_MAGIC;
      const walker = new FrameWalker();
      const frameBytes = async function* (): AsyncGenerator<Buffer> {
        while (!walker.done) {
          const chunk = await nextChunk();
          if (chunk === undefined) throw new DecompressError('zstd stream ends inside a frame; the NAR file is truncated');
          const end = walker.advance(chunk, 0);
          if (end < chunk.length) pending = chunk.subarray(end);
          yield end === chunk.length ? chunk : chunk.subarray(0, end);
        }
      };
      if (skippable) {
        for await (const _ of frameBytes());
        continue;
      }
      // Stream options (the read-ahead) are passed through to the Transform; the zlib types omit them.
      const options: ZstdOptions & TransformOptions = { chunkSize, readableHighWaterMark: readAhead, params: { [constants.ZSTD_d_windowLogMax]: ZSTD_WINDOW_LOG_MAX } };
      const decoder = createZstdDecompress(options);
      void feed(frameBytes(), decoder);
      try {
        for await (const chunk of chunksOf(decoder)) {
          markOwned(chunk, chunkSize);
          yield chunk;
        }
      } finally {
        decoder.destroy();
      }
    }
  } finally {
    await it.return?.();
  }
}

/**
 * Writes a frame's bytes into its decoder, with backpressure, and frees each owned input chunk once
 * the decoder has consumed it (releaseInput; the write's callback). An input error destroys the
 * decoder with that error, which its reader then sees, as a pipeline would do.
 */
async function feed(input: AsyncGenerator<Buffer>, decoder: Transform): Promise<void> {
  try {
    // Leaving the loop (a break, or an error) returns the input generator.
    for await (const chunk of input) {
      if (decoder.destroyed) break;
      const more = decoder.write(chunk, (err) => {
        if (err === undefined || err === null) releaseInput(chunk);
      });
      if (!more) await drainedOrClosed(decoder);
      // The reader stopped (or the decoder failed): no further chunk is pulled from the network.
      if (decoder.destroyed) break;
    }
    if (!decoder.destroyed) decoder.end();
  } catch (err) {
    decoder.destroy(err as Error);
  }
}

const zstdDecompressAsync = promisify(zstdDecompress);
const WHOLE_CHUNK_MAX = 64 * 1024 * 1024;

/**
 * Decode a whole zstd file held in memory. With libzstd (`binding`, libzstd.ts): the frames are walked
 * first (truncation, windows over 2^ZSTD_WINDOW_LOG_MAX refused as the streamed path refuses them),
 * then one call decodes them all straight into one buffer. Without: frame by frame, each frame in
 * one zlib call on libuv's thread pool into one output buffer. Either way no per-chunk callbacks or
 * stream plumbing. At most `maxOutput` bytes come out in all; beyond that it throws `tooLarge()` (the
 * caller knows the expected size from the narinfo).
 */
export async function decodeZstdWhole(input: Buffer, maxOutput: number, tooLarge: () => Error, binding?: LibzstdBinding): Promise<Buffer[]> {
  if (binding !== undefined) return decodeWholeWithLibzstd(binding, input, maxOutput, tooLarge);
  const out: Buffer[] = [];
  let produced = 0;
  let offset = 0;
  while (offset < input.length) {
    if (input.length - offset < 4) throw new DecompressError('zstd stream ends inside a frame header; the NAR file is truncated');
    const skippable = ((input.readUInt32LE(offset) & SKIPPABLE_MASK) >>> 0) === SKIPPABLE_MAGIC;
    const walker = new FrameWalker();
    const end = walker.advance(input, offset);
    if (!walker.done) throw new DecompressError('zstd stream ends inside a frame; the NAR file is truncated');
    if (!skippable) {
      // One byte more than allowed, so that too much output trips zlib's limit.
      const limit = maxOutput - produced + 1;
      // One output buffer as large as what may come out: zlib's default 16 KiB chunks cost a callback each and a final copy.
      const chunkSize = Math.max(64 * 1024, Math.min(limit, WHOLE_CHUNK_MAX));
      let frame: Buffer;
      try {
        frame = await zstdDecompressAsync(input.subarray(offset, end), { chunkSize, maxOutputLength: limit, params: { [constants.ZSTD_d_windowLogMax]: ZSTD_WINDOW_LOG_MAX } });
      } catch (err) {
        if ((err as { code?: unknown }).code === 'ERR_BUFFER_TOO_LARGE') throw tooLarge();
        throw new DecompressError(`zstd decompression failed: ${(err as Error).message}; ${decodeVerdict('zstd', err as { code?: unknown })}`, { cause: err });
      }
      produced += frame.length;
      if (produced > maxOutput) throw tooLarge();
      if (frame.length > 0) {
        // A fresh zlib engine's result: its one output buffer, or a concatenation of several; nobody else holds it.
        markWholeOwned(frame);
        out.push(frame);
      }
    }
    offset = end;
  }
  return out;
}

async function decodeWholeWithLibzstd(binding: LibzstdBinding, input: Buffer, maxOutput: number, tooLarge: () => Error): Promise<Buffer[]> {
  let offset = 0;
  let windows = 0;
  while (offset < input.length) {
    if (input.length - offset < 4) throw new DecompressError('zstd stream ends inside a frame header; the NAR file is truncated');
    const walker = new FrameWalker();
    offset = walker.advance(input, offset);
    if (!walker.done) throw new DecompressError('zstd stream ends inside a frame; the NAR file is truncated');
    windows = Math.max(windows, walker.maxWindow);
  }
  if (windows > 2 ** ZSTD_WINDOW_LOG_MAX) {
    const code = 'ZSTD_error_frameParameter_windowTooLarge';
    throw new DecompressError(`zstd decompression failed: a frame declares a window of ${windows} bytes; ${decodeVerdict('zstd', { code })}`);
  }
  let whole: Buffer | undefined;
  try {
    whole = await decodeZstdWholeWithLibzstd(binding, input, maxOutput, tooLarge);
  } catch (err) {
    if (!(err instanceof LibzstdError)) throw err;
    throw new DecompressError(`zstd decompression failed: ${err.message}; ${decodeVerdict('zstd', err)}`, { cause: err });
  }
  if (whole === undefined) return [];
  // A fresh buffer cut to size: nobody else holds it.
  markWholeOwned(whole);
  return [whole];
}
