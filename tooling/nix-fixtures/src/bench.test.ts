import { readFile, readlink } from 'node:fs/promises';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { nixBenchFixtures, type NixBenchFixtures } from './bench.ts';
import { runNix } from './nix-command.ts';
import { serveCache } from './serve-cache.ts';
import { nix, nixSkipReason, tempDir } from './test-nix.ts';

const skip = nixSkipReason();

// A small instance of the bench closure: same code path as the 250 MB default.
describe.skipIf(skip !== undefined)(`nixBenchFixtures${skip ? ` (skipped: ${skip})` : ''}`, () => {
  let bench: NixBenchFixtures;
  let work: { dir: string; cleanup: () => Promise<void> };

  beforeAll(async () => {
    work = await tempDir('bench');
    bench = await nixBenchFixtures({ paths: 7, totalBytes: 3_000_000, cacheDir: join(work.dir, 'cache') });
  });
  afterAll(() => work?.cleanup());

  it('builds a tree of real references whose root closure is every path', async () => {
    expect(bench.roots).toHaveLength(1);
    expect(bench.closure).toHaveLength(7);
    expect(bench.narSize).toBeGreaterThanOrEqual(3_000_000);
    const root = bench.roots[0] ?? '';
    const references = (await runNix('nix-store', ['--query', '--references', root])).trim().split('\n').sort();
    expect(references).toHaveLength(2);
    expect(await readlink(join(root, 'share', 'child-0'))).toMatch(/^\/nix\/store\/[0-9a-z]{32}-flox-bench-1\/share\/blob\.bin$/);
    expect((await runNix('nix-store', ['--query', '--requisites', root])).trim().split('\n').sort()).toEqual(bench.closure);
  });

  it('publishes caches where xz and zstd actually compress the text but not the keystream', async () => {
    for (const compression of ['xz', 'zstd'] as const) {
      const hash = (bench.roots[0] ?? '').slice('/nix/store/'.length, '/nix/store/'.length + 32);
      const narinfo = await readFile(join(bench.caches[compression], `${hash}.narinfo`), 'utf8');
      const fileSize = Number(/^FileSize: (\d+)$/m.exec(narinfo)?.[1]);
      const narSize = Number(/^NarSize: (\d+)$/m.exec(narinfo)?.[1]);
      expect(narinfo).toContain(`Compression: ${compression}\n`);
      // ~40% text compresses well, ~55% keystream does not: the ratio lands in between.
      expect(fileSize / narSize).toBeGreaterThan(0.5);
      expect(fileSize / narSize).toBeLessThan(0.85);
    }
  });

  it('is substitutable by real Nix from the zstd cache over HTTP', async () => {
    const server = await serveCache(bench.caches.zstd);
    const storeRoot = join(work.dir, 'store');
    try {
      await nix(['copy', '--from', server.url, '--to', storeRoot, '--option', 'trusted-public-keys', bench.publicKey, ...bench.roots], join(work.dir, 'nix-cache'));
    } finally {
      await server.close();
    }
    expect(server.count('/nar/')).toBe(7);
    await nix(['store', 'verify', '--store', storeRoot, '--option', 'trusted-public-keys', bench.publicKey, ...bench.closure], join(work.dir, 'nix-cache'));
  }, 120_000);
});
