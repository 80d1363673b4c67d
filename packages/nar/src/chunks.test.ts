import { PassThrough, Readable } from 'node:stream';
import { describe, expect, it } from 'vitest';
import { chunksOf } from './chunks.ts';

const piece = (i: number): Buffer => Buffer.alloc(64 * 1024, i);

describe('chunksOf with batchBytes', () => {
  it('joins chunks already received into pieces of at most batchBytes, in order, bytes intact', async () => {
    const parts = Array.from({ length: 10 }, (_, i) => piece(i));
    const out: Uint8Array[] = [];
    for await (const c of chunksOf(Readable.from(parts, { objectMode: false }), { batchBytes: 256 * 1024 })) out.push(c);
    expect(Buffer.concat(out).equals(Buffer.concat(parts))).toBe(true);
    expect(out.every((c) => c.length <= 256 * 1024)).toBe(true);
    expect(out.length).toBeLessThan(parts.length);
  });

  it('does not wait for a batch to fill: a lone chunk comes out while the stream stays open', async () => {
    const stream = new PassThrough();
    const it = chunksOf(stream, { batchBytes: 1 << 20 })[Symbol.asyncIterator]();
    stream.write(piece(7));
    const first = await Promise.race([it.next(), new Promise<'stalled'>((r) => setTimeout(() => r('stalled'), 2_000))]);
    expect(first).not.toBe('stalled');
    expect(Buffer.from((first as IteratorResult<Uint8Array>).value as Uint8Array).equals(piece(7))).toBe(true);
    stream.end();
    expect((await it.next()).done).toBe(true);
  });

  it('without batchBytes hands chunks over as received (no joining, no copy)', async () => {
    const parts = [piece(1), piece(2), piece(3)];
    const out: Uint8Array[] = [];
    const stream = new PassThrough();
    for (const p of parts) stream.write(p);
    stream.end();
    for await (const c of chunksOf(stream)) out.push(c);
    expect(out.length).toBe(3);
    expect(out.map((c) => c.length)).toEqual([65536, 65536, 65536]);
  });

  it('with releaseJoined frees the received chunks it joined, and no others; without it frees none', async () => {
    for (const release of [true, false]) {
      const parts = Array.from({ length: 6 }, (_, i) => Buffer.from(piece(i)));
      const copy = Buffer.concat(parts);
      const stream = new PassThrough();
      for (const p of parts) stream.write(p);
      stream.end();
      const out: Buffer[] = [];
      for await (const c of chunksOf(stream, { batchBytes: 256 * 1024, releaseJoined: release })) out.push(Buffer.from(c));
      expect(Buffer.concat(out).equals(copy)).toBe(true);
      expect(out.length).toBeLessThan(parts.length);
      expect(parts.filter((p) => (p.buffer as ArrayBuffer).detached).length).toBe(release ? parts.length : 0);
    }
  });
});
