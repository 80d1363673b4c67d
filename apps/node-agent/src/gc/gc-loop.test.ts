import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { nixFixtures, serveCache, type NixFixtures, type ServedCache } from '@flox-k8s/nix-fixtures';
import { Store } from '@flox-k8s/store';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { memoryLogger } from '../log.ts';
import { createMetrics } from '../metrics/metrics.ts';
import { PodLeases } from '../prefetch/leases.ts';
import { gcOnce, storeTarget } from './gc-loop.ts';

describe('storeTarget', () => {
  it('collects only above the high watermark, down to the low one', () => {
    const total = 100_000;
    expect(storeTarget({ totalBytes: total, usedBytes: 80_000 }, 30_000, 0.85, 0.7)).toEqual({ collect: false, lowWatermarkBytes: 20_000 });
    // 90 % used, low mark 70 %: 20 000 bytes must go, so the store may keep 10 000 of its 30 000.
    expect(storeTarget({ totalBytes: total, usedBytes: 90_000 }, 30_000, 0.85, 0.7)).toEqual({ collect: true, lowWatermarkBytes: 10_000 });
    // Other files fill the disk: even an empty store cannot reach the mark; collect all that is unreachable.
    expect(storeTarget({ totalBytes: total, usedBytes: 99_000 }, 5_000, 0.85, 0.7)).toEqual({ collect: true, lowWatermarkBytes: 0 });
  });
});

describe('gcOnce on a real store', () => {
  let fixtures: NixFixtures;
  let cache: ServedCache;
  let dir: string;
  let store: Store;

  beforeAll(async () => {
    fixtures = await nixFixtures();
    cache = await serveCache(fixtures.caches.none);
    dir = await mkdtemp(join(tmpdir(), 'flox-agent-gc-'));
    store = await Store.open(join(dir, 'store'));
    await store.realise(fixtures.closure, { caches: [{ url: cache.url }], trustedKeys: [fixtures.publicKey] });
  }, 300_000);
  afterAll(async () => {
    await cache?.close();
    if (dir) await rm(dir, { recursive: true, force: true });
  });

  it('keeps leased closures when the disk is over the mark, frees them once released', async () => {
    const metrics = createMetrics();
    const log = memoryLogger();
    const leases = new PodLeases(store, 60_000, (error) => {
      throw error;
    });
    leases.hold('pod-uid-1', [fixtures.storePaths.script]);
    // A full disk: every unreachable path must go.
    const full = async () => ({ totalBytes: 1e12, usedBytes: 1e12 });
    const options = { store, intervalMs: 1_000, highWatermark: 0.85, lowWatermark: 0.7, metrics, log, usage: full };

    const kept = await gcOnce(options);
    expect(log.records.filter((r) => r['level'] === 'error')).toEqual([]);
    // the script's closure (script, busybox, data) is leased; only `tree` is unreachable
    expect(kept?.deleted).toEqual([fixtures.storePaths.tree]);
    expect(store.pathInfo(fixtures.storePaths.script)).toBeDefined();

    leases.release('pod-uid-1');
    const freed = await gcOnce(options);
    expect(freed?.deleted.sort()).toEqual([fixtures.storePaths.busybox, fixtures.storePaths.data, fixtures.storePaths.script].sort());
    const text = await metrics.registry.metrics();
    expect(text).toMatch(/flox_agent_gc_runs_total\{result="collected"\} 2/);
    const freedTotal = Number(/flox_agent_gc_freed_bytes_total (\d+)/.exec(text)?.[1]);
    expect(freedTotal).toBe((kept?.freedBytes ?? 0) + (freed?.freedBytes ?? 0));
    expect(freedTotal).toBeGreaterThan(0);
  });

  it('an unreadable root stops the collection: nothing deleted, logged and counted by code', async () => {
    await store.realise(fixtures.closure, { caches: [{ url: cache.url }], trustedKeys: [fixtures.publicKey] });
    const torn = join(dir, 'store', 'roots', 'leases', 'pod-torn.json');
    await writeFile(torn, '{"id":"pod-torn","roots":["/nix/st');
    try {
      const metrics = createMetrics();
      const log = memoryLogger();
      const result = await gcOnce({ store, intervalMs: 1_000, highWatermark: 0.85, lowWatermark: 0.7, metrics, log, usage: async () => ({ totalBytes: 1e12, usedBytes: 1e12 }) });
      expect(result).toBeUndefined();
      for (const path of fixtures.closure) expect(store.pathInfo(path), path).toBeDefined();
      const text = await metrics.registry.metrics();
      expect(text).toMatch(/flox_agent_gc_failures_total\{code="FLOXK8S_STORE_GC_ROOT_UNREADABLE"\} 1/);
      expect(text).toMatch(/flox_agent_task_errors_total\{task="gc",code="FLOXK8S_STORE_GC_ROOT_UNREADABLE"\} 1/);
      expect(log.records).toContainEqual(expect.objectContaining({ level: 'error', msg: 'gc failed', code: 'FLOXK8S_STORE_GC_ROOT_UNREADABLE' }));
    } finally {
      await rm(torn);
    }
  });

  it('does nothing below the high watermark', async () => {
    const metrics = createMetrics();
    const result = await gcOnce({ store, intervalMs: 1_000, highWatermark: 0.85, lowWatermark: 0.7, metrics, log: memoryLogger(), usage: async () => ({ totalBytes: 100, usedBytes: 10 }) });
    expect(result).toBeUndefined();
    expect(await metrics.registry.metrics()).toMatch(/flox_agent_gc_runs_total\{result="skipped"\} 1/);
  });
});
