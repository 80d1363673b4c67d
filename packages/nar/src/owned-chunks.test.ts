import { execFileSync } from 'node:child_process';
import { mkdir, mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { nixDump, nixHash } from '../test/nix.ts';
import { makeTrapTree } from '../test/trees.ts';
import { decompress, type DecoderOptions } from './decompress.ts';
import { libzstdBinding } from '../test/decode-kit.ts';
import { unpackNar, unpackOwnedNar } from './nar-unpack.ts';
import { markInputOwned, markOwned, markWholeOwned, releaseChunk, releaseInput, releaseWhole } from './owned-chunks.ts';
import { decodeZstdWhole } from './zstd-frames.ts';
import { narOf, prng } from '@flox-k8s/hostile-nars';

/** Yields the chunks of `source`, remembering each one so the test can inspect them afterwards. */
function recording(source: AsyncIterable<Uint8Array>, seen: Uint8Array[]): AsyncIterable<Uint8Array> {
  return (async function* () {
    for await (const chunk of source) {
      seen.push(chunk);
      yield chunk;
    }
  })();
}

describe.each([
  ['zlib', { zstd: 'zlib' }, undefined],
  ['libzstd', { zstd: 'libzstd' }, libzstdBinding()],
] as const)('owned decoder chunks, zstd through %s', (decoderName, decoder: DecoderOptions, binding) => {
  let tmp: string;
  let tree: string;
  let zst: Buffer;
  beforeAll(async () => {
    tmp = await mkdtemp(join(tmpdir(), 'nar-owned-'));
    tree = join(tmp, 'tree');
    await mkdir(tree);
    await makeTrapTree(tree);
    // Several decoder output chunks (64 KiB, below the 1 MiB default), with file contents and tokens crossing chunk boundaries.
    const rng = prng(3);
    for (let i = 0; i < 40; i++) {
      const size = Math.floor(rng() * 30_000);
      await writeFile(join(tree, `f${String(i).padStart(2, '0')}-${'n'.repeat(i * 3)}`), Buffer.from(Array.from({ length: size }, (_, j) => (j * 31 + i) % 251)));
    }
    await writeFile(join(tree, 'zbig'), Buffer.alloc(300_000, 9));
    zst = execFileSync('zstd', ['-c', '-q'], { input: nixDump(tree) });
  });
  afterAll(async () => {
    await rm(tmp, { recursive: true, force: true });
  });

  const source = (): AsyncIterable<Uint8Array> =>
    (async function* () {
      for (let i = 0; i < zst.length; i += 8192) yield zst.subarray(i, i + 8192);
    })();

  it('frees a chunk only when it is marked and ends its decoder buffer', () => {
    const pooled = Buffer.from('abc');
    markOwned(pooled, pooled.buffer.byteLength);
    releaseChunk(pooled);
    expect(pooled.buffer.detached).toBe(false);

    const unmarked = Buffer.allocUnsafe(65536);
    releaseChunk(unmarked);
    expect(unmarked.buffer.detached).toBe(false);

    const out = Buffer.allocUnsafe(65536);
    const head = out.subarray(0, 100);
    const rest = out.subarray(100);
    markOwned(head, 65536);
    releaseChunk(head);
    expect(out.buffer.detached).toBe(false);
    releaseChunk(rest);
    expect(out.buffer.detached).toBe(true);
  });

  it('unpackOwnedNar frees decoder buffers and still reproduces the tree and its NarHash', async () => {
    const seen: Uint8Array[] = [];
    const dest = join(tmp, 'owned');
    const digest = await unpackOwnedNar(recording(decompress('zstd', source(), { ...decoder, zstdChunkSize: 64 * 1024 }), seen), dest, {}, true);
    expect(digest.narHash).toBe(`sha256:${nixHash('--type', 'sha256', '--base32', tree)}`);
    expect(nixDump(dest).equals(nixDump(tree))).toBe(true);
    expect(seen.length).toBeGreaterThan(4);
    expect(seen.filter((c) => (c.buffer as ArrayBuffer).detached).length).toBeGreaterThan(0);
  });

  it('the public unpackNar never frees the caller’s chunks', async () => {
    const seen: Uint8Array[] = [];
    const digest = await unpackNar(recording(decompress('zstd', source(), { ...decoder, zstdChunkSize: 64 * 1024 }), seen), join(tmp, 'public'));
    expect(digest.narHash).toBe(`sha256:${nixHash('--type', 'sha256', '--base32', tree)}`);
    expect(seen.length).toBeGreaterThan(4);
    expect(seen.filter((c) => (c.buffer as ArrayBuffer).detached)).toEqual([]);
  });

  it('a whole NAR decoded in one shot is freed on release, though zlib hands back a shorter view of its buffer', async () => {
    const nar = nixDump(tree);
    const tooLarge = (): Error => new Error('too large');
    const parts = await decodeZstdWhole(zst, nar.length, tooLarge, binding);
    expect(Buffer.concat(parts).equals(nar)).toBe(true);
    expect(parts).toHaveLength(1);
    const part = parts[0] as Buffer;
    // The output buffer is NarSize + 1 (to trip on overlong output): zlib's view does not cover it;
    // libzstd's result is cut to size.
    expect(part.buffer.byteLength).toBe(decoderName === 'zlib' ? nar.length + 1 : nar.length);
    releaseWhole(part);
    expect((part.buffer as ArrayBuffer).detached).toBe(true);
  });

  it('releaseWhole leaves alone views it was not told are ours alone', () => {
    const pooled = Buffer.from('abc');
    markWholeOwned(pooled); // Buffer's shared pool slab: never marked
    releaseWhole(pooled);
    expect(pooled.buffer.detached).toBe(false);

    const big = Buffer.allocUnsafeSlow(65536);
    const head = big.subarray(0, 1000);
    releaseWhole(head); // a view shorter than its buffer, unmarked
    expect(big.buffer.detached).toBe(false);
    const tail = big.subarray(1000);
    markWholeOwned(tail); // not at offset 0: not marked
    releaseWhole(tail);
    expect(big.buffer.detached).toBe(false);
    releaseWhole(big);
    expect(big.buffer.detached).toBe(true);
  });

  it('releaseInput frees a marked input chunk once its last byte is consumed, and nothing unmarked or pooled', () => {
    const pooled = Buffer.from('abc');
    markInputOwned(pooled);
    releaseInput(pooled);
    expect(pooled.buffer.detached).toBe(false);

    const unmarked = Buffer.allocUnsafeSlow(65536);
    releaseInput(unmarked);
    expect(unmarked.buffer.detached).toBe(false);

    const view = Buffer.allocUnsafeSlow(65536).subarray(10);
    markInputOwned(view); // not the whole buffer: someone else may hold the rest
    releaseInput(view);
    expect(view.buffer.detached).toBe(false);

    const chunk = Buffer.allocUnsafeSlow(65536);
    markInputOwned(chunk);
    releaseInput(chunk.subarray(0, 1000)); // a frame ended inside it: the rest is still to be decoded
    expect(chunk.buffer.detached).toBe(false);
    releaseInput(chunk.subarray(1000));
    expect(chunk.buffer.detached).toBe(true);
  });

  it('the zstd decoder frees marked input once it has consumed it, across frames, and decodes every byte', async () => {
    // Bytes zstd cannot shrink much, so that the input is many chunks of memory of their own
    // (over half of Buffer's pool, like the 64 KiB socket reads).
    const rng = prng(5);
    const nar = narOf({ type: 'regular', contents: Buffer.from(Array.from({ length: 1_500_000 }, () => Math.floor(rng() * 256))) });
    // Two frames, so one input chunk ends the first frame and starts the second.
    const half = nar.length >> 1;
    const twoFrames = Buffer.concat([execFileSync('zstd', ['-c', '-q'], { input: nar.subarray(0, half) }), execFileSync('zstd', ['-c', '-q'], { input: nar.subarray(half) })]);
    const step = 40_000;
    for (const mark of [true, false]) {
      const inputs: Buffer[] = [];
      for (let i = 0; i < twoFrames.length; i += step) {
        const c = Buffer.allocUnsafeSlow(Math.min(step, twoFrames.length - i));
        twoFrames.copy(c, 0, i, i + c.length);
        inputs.push(c);
      }
      const big = inputs.filter((c) => c.length > Buffer.poolSize >>> 1);
      const source = (async function* () {
        for (const c of inputs) {
          if (mark) markInputOwned(c);
          yield c;
        }
      })();
      const out: Buffer[] = [];
      for await (const c of decompress('zstd', source, decoder)) out.push(Buffer.from(c));
      expect(Buffer.concat(out).equals(nar)).toBe(true);
      expect(big.length).toBeGreaterThan(20);
      expect(inputs.filter((c) => (c.buffer as ArrayBuffer).detached).length).toBe(mark ? big.length : 0);
    }
  });

  it('a reader that stops early ends the decoder and its input promptly', async () => {
    let returned = false;
    const source = (async function* () {
      try {
        for (let i = 0; i < zst.length; i += 4096) yield Buffer.from(zst.subarray(i, i + 4096));
      } finally {
        returned = true;
      }
    })();
    const started = Date.now();
    for await (const _ of decompress('zstd', source, { ...decoder, zstdChunkSize: 64 * 1024, zstdReadAhead: 64 * 1024 })) break;
    expect(returned).toBe(true);
    expect(Date.now() - started).toBeLessThan(5_000);
  });
});
