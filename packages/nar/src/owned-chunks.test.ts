import { execFileSync } from 'node:child_process';
import { mkdir, mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { nixDump, nixHash } from '../test/nix.ts';
import { makeTrapTree } from '../test/trees.ts';
import { decompress } from './decompress.ts';
import { unpackNar, unpackOwnedNar } from './nar-unpack.ts';
import { markOwned, markWholeOwned, releaseChunk, releaseWhole } from './owned-chunks.ts';
import { decodeZstdWhole } from './zstd-frames.ts';
import { prng } from '@flox-k8s/hostile-nars';

/** Yields the chunks of `source`, remembering each one so the test can inspect them afterwards. */
function recording(source: AsyncIterable<Uint8Array>, seen: Uint8Array[]): AsyncIterable<Uint8Array> {
  return (async function* () {
    for await (const chunk of source) {
      seen.push(chunk);
      yield chunk;
    }
  })();
}

describe('owned decoder chunks', () => {
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
    const digest = await unpackOwnedNar(recording(decompress('zstd', source(), { zstdChunkSize: 64 * 1024 }), seen), dest, {}, true);
    expect(digest.narHash).toBe(`sha256:${nixHash('--type', 'sha256', '--base32', tree)}`);
    expect(nixDump(dest).equals(nixDump(tree))).toBe(true);
    expect(seen.length).toBeGreaterThan(4);
    expect(seen.filter((c) => (c.buffer as ArrayBuffer).detached).length).toBeGreaterThan(0);
  });

  it('the public unpackNar never frees the caller’s chunks', async () => {
    const seen: Uint8Array[] = [];
    const digest = await unpackNar(recording(decompress('zstd', source(), { zstdChunkSize: 64 * 1024 }), seen), join(tmp, 'public'));
    expect(digest.narHash).toBe(`sha256:${nixHash('--type', 'sha256', '--base32', tree)}`);
    expect(seen.length).toBeGreaterThan(4);
    expect(seen.filter((c) => (c.buffer as ArrayBuffer).detached)).toEqual([]);
  });

  it('a whole NAR decoded in one shot is freed on release, though zlib hands back a shorter view of its buffer', async () => {
    const nar = nixDump(tree);
    const tooLarge = (): Error => new Error('too large');
    const parts = await decodeZstdWhole(zst, nar.length, tooLarge);
    expect(Buffer.concat(parts).equals(nar)).toBe(true);
    expect(parts).toHaveLength(1);
    const part = parts[0] as Buffer;
    // The output buffer is NarSize + 1 (to trip on overlong output): the view does not cover it.
    expect(part.buffer.byteLength).toBe(nar.length + 1);
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
});
