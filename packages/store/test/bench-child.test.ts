// bench:large's `agent-running` peer (bench/large-realise-child.ts) claims a cold realise by a
// running agent: an earlier realise into a store of its own, then the measured one into a store
// that is still empty. Checked on the small fixture, from the sources, so the benchmark's figures
// come from the realise it says it measures.
import { spawn } from 'node:child_process';
import { readdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { nixFixtures, nixSkipReason, serveCache, type NixFixtures, type ServedCache } from '@flox-k8s/nix-fixtures';
import { childResult, cleanup, tempDir } from './helpers.ts';

const skip = nixSkipReason();
describe.skipIf(skip !== undefined)(`bench child, agent-running${skip ? ` (skipped: ${skip})` : ''}`, () => {
  let fx: NixFixtures;
  let cache: ServedCache;
  const dir = tempDir('flox-bench-child-');

  beforeAll(async () => {
    fx = await nixFixtures();
    cache = await serveCache(fx.caches.zstd);
  }, 30 * 60_000);

  afterAll(async () => {
    await cache?.close();
    cleanup(dir);
  });

  it('realises the closure into an earlier store first, then fetches all of it again into the measured one, and reports that realise alone', async () => {
    const roots = join(dir, 'roots.json');
    writeFileSync(roots, JSON.stringify(Object.values(fx.storePaths)));
    const child = join(import.meta.dirname, '..', 'bench', 'large-realise-child.ts');
    // Not spawnSync: the cache answers from this process.
    // agent-running-zlib: the same with zstd through Node's zlib, the same-run comparison peer.
    for (const [mode, zstdDecoder] of [['agent-running', /^libzstd \d/], ['agent-running-zlib', /^zlib \(forced\)$/]] as const) {
      const root = join(dir, mode);
      const r = await childResult(spawn(process.execPath, ['--conditions=@flox-k8s/source', child, mode, root, cache.url, fx.publicKey, roots], { stdio: ['ignore', 'pipe', 'pipe'] }), 5 * 60_000);
      expect(r.code, r.stderr).toBe(0);
      const out = JSON.parse(r.stdout.trim().split('\n').at(-1) ?? '{}') as {
        fetched: number;
        bytesDownloaded: number;
        realiseMs: number;
        realiseCpuMs: number;
        mainThreadCpuMs: number;
        childCpuMs: number;
        vmHwmKb: number;
        zstdDecoder: string;
      };
      expect(out.zstdDecoder).toMatch(zstdDecoder);
      // Every path was fetched by the measured realise: its store was cold.
      expect(out.fetched).toBe(fx.closure.length);
      expect(out.bytesDownloaded).toBeGreaterThan(0);
      const bases = fx.closure.map((p) => p.slice(p.lastIndexOf('/') + 1)).sort();
      const stored = (storeRoot: string): string[] => readdirSync(join(storeRoot, 'store')).filter((n) => bases.includes(n)).sort();
      expect(stored(root)).toEqual(bases);
      expect(stored(`${root}-earlier`)).toEqual(bases);
      expect(out.realiseMs).toBeGreaterThan(0);
      expect(out.realiseCpuMs).toBeGreaterThan(0);
      // The main thread's share of it, read from that thread's own clock.
      expect(out.mainThreadCpuMs).toBeGreaterThan(0);
      expect(out.mainThreadCpuMs).toBeLessThanOrEqual(out.realiseCpuMs + 1);
      // zstd NARs start no xz subprocess: a read of /proc/self/stat that found none (not NaN).
      expect(out.childCpuMs).toBe(0);
      // The peak of the measured realise, read after VmHWM was reset: a real reading of this process.
      expect(out.vmHwmKb / 1024).toBeGreaterThan(30);
      expect(out.vmHwmKb / 1024).toBeLessThan(1024);
    }
  }, 6 * 60_000);
});
