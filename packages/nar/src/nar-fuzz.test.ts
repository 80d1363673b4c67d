import { mkdir, mkdtemp, readdir } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { nixFixtures } from '@flox-k8s/nix-fixtures';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { nixDump } from '../test/nix.ts';
import { NarError } from './errors.ts';
import { hashNar, unpackNar } from './nar-unpack.ts';
import { removeTree } from './remove-tree.ts';
import { narOf, prng, u64 } from '@flox-k8s/hostile-nars';

type Rng = () => number;
const pick = (rng: Rng, n: number): number => Math.floor(rng() * n);

/** One random mutation: bit flip, byte overwrite, truncation, splice, length-field rewrite or token swap. */
function mutate(base: Buffer, rng: Rng): Buffer {
  const b = Buffer.from(base);
  switch (pick(rng, 6)) {
    case 0: {
      const i = pick(rng, b.length);
      b[i] = (b[i] ?? 0) ^ (1 << pick(rng, 8));
      return b;
    }
    case 1: {
      for (let k = 0; k < 1 + pick(rng, 4); k++) b[pick(rng, b.length)] = pick(rng, 256);
      return b;
    }
    case 2:
      return b.subarray(0, pick(rng, b.length));
    case 3: {
      const at = pick(rng, b.length);
      const from = pick(rng, b.length);
      return Buffer.concat([b.subarray(0, at), b.subarray(from, from + 8 * (1 + pick(rng, 8))), b.subarray(at)]);
    }
    case 4: {
      // Rewrite an 8-aligned word as a length: small, off by one, or absurd.
      const at = 8 * pick(rng, b.length / 8);
      const choices = [0n, 1n, 7n, 8n, 255n, 256n, 4096n, 2n ** 32n, 2n ** 63n - 1n];
      u64(choices[pick(rng, choices.length)] ?? 0n).copy(b, at);
      return b;
    }
    default: {
      const a = 8 * pick(rng, b.length / 8);
      const c = 8 * pick(rng, b.length / 8);
      const wa = Buffer.from(b.subarray(a, a + 8));
      b.subarray(c, c + 8).copy(b, a);
      wa.copy(b, c);
      return b;
    }
  }
}

function chunks(bytes: Buffer, rng: Rng): AsyncIterable<Uint8Array> {
  return (async function* () {
    let i = 0;
    while (i < bytes.length) {
      const n = 1 + pick(rng, 200);
      yield bytes.subarray(i, i + n);
      i += n;
    }
  })();
}

function assertTyped(err: unknown): void {
  if (!(err instanceof NarError) || !err.code.startsWith('FLOXK8S_')) throw err;
}

describe('mutation fuzz', () => {
  let seeds: Buffer[];
  let box: string;
  beforeAll(async () => {
    const fx = await nixFixtures();
    seeds = [
      nixDump(fx.storePaths.tree),
      nixDump(fx.storePaths.script),
      narOf({
        type: 'directory',
        entries: [
          ['B', { type: 'regular', contents: 'upper' }],
          ['a', { type: 'directory', entries: [['x', { type: 'symlink', target: '../B' }]] }],
          ['e', { type: 'regular', contents: '', executable: true }],
        ],
      }),
    ];
    box = await mkdtemp(join(tmpdir(), 'nar-fuzz-'));
    await mkdir(join(box, 'victim'));
  });
  afterAll(async () => {
    await removeTree(box);
  });

  it('hashNar: 4000 mutated NARs end in success or a typed error', async () => {
    const rng = prng(0xf10c);
    let rejected = 0;
    for (let i = 0; i < 4000; i++) {
      const seed = seeds[i % seeds.length]!;
      try {
        await hashNar(chunks(mutate(seed, rng), rng), { limits: { maxNarSize: 1 << 20 } });
      } catch (err) {
        assertTyped(err);
        rejected++;
      }
    }
    // Most mutations must be caught: the reader is strict.
    expect(rejected).toBeGreaterThan(3000);
  });

  it('unpackNar: 600 mutated NARs end in success or a typed error and never write outside dest', async () => {
    const rng = prng(0xbeef);
    for (let i = 0; i < 600; i++) {
      const dest = join(box, 'dest');
      const seed = seeds[i % seeds.length]!;
      try {
        await unpackNar(chunks(mutate(seed, rng), rng), dest, { limits: { maxNarSize: 1 << 20 } });
        await removeTree(dest);
      } catch (err) {
        assertTyped(err);
        expect(await readdir(box)).toEqual(['victim']);
      }
    }
    expect(await readdir(join(box, 'victim'))).toEqual([]);
  });
});
