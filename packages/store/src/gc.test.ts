import { existsSync, mkdtempSync, readdirSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import type { ServedCache } from '@flox-k8s/nix-fixtures';
import { Store } from './store.ts';
import { cleanup, fakeStorePath, placePath, servedFixtures, tempDir, throttledNars } from '../test/helpers.ts';
import { writeSyntheticStore } from '../bench/synthetic.ts';

const dirs: string[] = [];
afterEach(() => {
  for (const d of dirs.splice(0)) cleanup(d);
});

async function emptyStore(): Promise<{ root: string; store: Store }> {
  const root = tempDir();
  dirs.push(root);
  return { root, store: await Store.open(root) };
}

const p = (name: string): string => fakeStorePath(name);

describe('gc', () => {
  it('keeps leased and pinned closures and their shared dependencies, frees the rest', async () => {
    const { store } = await emptyStore();
    await placePath(store.root, p('glibc'));
    await placePath(store.root, p('lib1'), { references: [p('glibc')] });
    await placePath(store.root, p('app1'), { references: [p('lib1'), p('glibc'), p('app1')] }); // self-reference
    await placePath(store.root, p('lib2'), { references: [p('glibc')] });
    await placePath(store.root, p('app2'), { references: [p('lib2')] });
    await placePath(store.root, p('orphan'), { references: [p('glibc'), p('orphan-dep')] });
    await placePath(store.root, p('orphan-dep'));
    store.lease('pod-a', [p('app1')], 60_000);
    store.pin('env-b', [p('app2')]);
    const result = await store.gc();
    expect(result.deleted.sort()).toEqual([p('orphan'), p('orphan-dep')].sort());
    expect(result.deleted.indexOf(p('orphan'))).toBeLessThan(result.deleted.indexOf(p('orphan-dep')));
    expect(result.freedBytes).toBeGreaterThan(0);
    for (const kept of ['glibc', 'lib1', 'app1', 'lib2', 'app2']) expect(store.pathInfo(p(kept))).toBeDefined();
    expect(existsSync(store.hostPath(p('orphan')))).toBe(false);
    expect(readdirSync(join(store.root, 'tmp'))).toEqual([]);
    expect((await store.verify()).ok).toBe(true);

    // releasing the lease and unpinning frees everything
    expect(store.release('pod-a')).toBe(true);
    expect(store.unpin('env-b')).toBe(true);
    const all = await store.gc();
    expect(all.deleted.length).toBe(5);
    expect(readdirSync(join(store.root, 'store'))).toEqual([]);
    expect(readdirSync(join(store.root, 'meta'))).toEqual([]);
  });

  it('an expired lease protects nothing; renewing it does', async () => {
    const { store } = await emptyStore();
    await placePath(store.root, p('a'));
    await placePath(store.root, p('b'));
    store.lease('pod', [p('a')], 1);
    store.lease('pod2', [p('b')], 1);
    await new Promise((r) => setTimeout(r, 10));
    store.lease('pod2', [p('b')], 60_000); // renewed
    const result = await store.gc();
    expect(result.deleted).toEqual([p('a')]);
    expect(() => store.lease('x', [p('a')], 0)).toThrow(expect.objectContaining({ code: 'FLOXK8S_STORE_OPTIONS_INVALID' }));
    expect(() => store.lease('x', ['/tmp/x'], 10)).toThrow(expect.objectContaining({ code: 'FLOXK8S_STORE_PATH_INVALID' }));
  });

  it('honours watermarks, least recently used first, and dryRun deletes nothing', async () => {
    const { store } = await emptyStore();
    const names = Array.from({ length: 10 }, (_, i) => `path-${i}`);
    const now = Date.now();
    for (const [i, name] of names.entries()) await placePath(store.root, p(name), { size: 1000, lastUse: now - (100 - i) * 60_000 });
    const size = store.pathInfo(p('path-0'))?.narSize as number;
    const total = size * 10;

    const idle = await store.gc({ highWatermark: total, lowWatermark: 0 });
    expect(idle).toMatchObject({ triggered: false, deleted: [], freedBytes: 0, storeBytes: total });

    const dry = await store.gc({ highWatermark: total - 1, lowWatermark: total - 3.5 * size, dryRun: true });
    expect(dry.deleted).toEqual(names.slice(0, 4).map(p));
    expect(dry.freedBytes).toBe(4 * size);
    expect(readdirSync(join(store.root, 'store')).length).toBe(10);

    const real = await store.gc({ highWatermark: total - 1, lowWatermark: total - 3.5 * size });
    expect(real.deleted).toEqual(names.slice(0, 4).map(p));
    expect(readdirSync(join(store.root, 'store')).length).toBe(6);

    await expect(store.gc({ highWatermark: 1, lowWatermark: 2 })).rejects.toMatchObject({ code: 'FLOXK8S_STORE_OPTIONS_INVALID' });
  });

  it('a realise of a closure counts as a use of all its paths (closure index), for LRU order', async () => {
    const { store } = await emptyStore();
    const now = Date.now();
    await placePath(store.root, p('registered-long-ago'), { lastUse: now - 7_200_000 });
    await placePath(store.root, p('registered-recently'), { lastUse: now - 60_000 });
    // a warm realise of the old path: no download, just an index entry
    const r = await store.realise([p('registered-long-ago')], { caches: [], trustedKeys: [] });
    expect(r).toMatchObject({ fetched: [], present: [p('registered-long-ago')] });
    expect(store.pathInfo(p('registered-long-ago'))?.lastUse).toBeGreaterThan(now - 1_000);
    const size = store.pathInfo(p('registered-recently'))?.narSize as number;
    const result = await store.gc({ highWatermark: size, lowWatermark: size });
    expect(result.deleted).toEqual([p('registered-recently')]);
  });

  it('collects a reference chain 12 000 deep (no recursion limit), referrers first', async () => {
    const root = mkdtempSync(join(existsSync('/dev/shm') ? '/dev/shm' : tmpdir(), 'flox-gc-chain-'));
    dirs.push(root);
    const paths = writeSyntheticStore(root, 12_000, (i) => (i === 0 ? [] : [i - 1]), 'chain');
    const store = await Store.open(root, { fsync: false });
    const result = await store.gc();
    expect(result.deleted.length).toBe(12_000);
    expect(result.deleted[0]).toBe(paths[11_999]);
    expect(result.deleted[11_999]).toBe(paths[0]);
    expect(readdirSync(join(root, 'store'))).toEqual([]);
  });

  it('deleting a least-recently-used dependency takes its (unreachable) referrers first', async () => {
    const { store } = await emptyStore();
    const now = Date.now();
    await placePath(store.root, p('old-dep'), { lastUse: now - 3_600_000 });
    await placePath(store.root, p('new-user'), { references: [p('old-dep')], lastUse: now });
    await placePath(store.root, p('other'), { lastUse: now - 60_000 });
    const size = store.pathInfo(p('other'))?.narSize as number;
    const result = await store.gc({ lowWatermark: size * 1.5, highWatermark: size * 1.5 });
    expect(result.deleted).toEqual([p('new-user'), p('old-dep')]);
    expect(store.pathInfo(p('other'))).toBeDefined();
  });
});

describe('gc racing realise', () => {
  let cache: ServedCache | undefined;
  afterEach(async () => {
    await cache?.close();
  });

  it('never removes a path a concurrent realise needs', async () => {
    const { nixFixtures } = await import('@flox-k8s/nix-fixtures');
    const fixtures = await nixFixtures();
    const served = await servedFixtures('none', { onRequest: throttledNars(fixtures.caches.none, 2) });
    cache = served.cache;
    const { fx, realiseOptions } = served;
    const { root, store } = await emptyStore();
    const collector = await Store.open(root); // another Store object: only the on-disk protocol protects
    for (let round = 0; round < 6; round++) {
      // data is present and unreachable before the realise starts: the GC would love to take it
      await store.realise([fx.storePaths.data], realiseOptions);
      await placePath(root, p(`garbage-${round}`));
      let stop = false;
      let collected = 0;
      const gcLoop = (async () => {
        while (!stop) {
          collected += (await collector.gc()).deleted.length;
          await new Promise((r) => setTimeout(r, round));
        }
      })();
      const result = await store.realise([fx.storePaths.script], { ...realiseOptions, lease: { id: 'race', ttlMs: 60_000 } });
      stop = true;
      await gcLoop;
      expect(result.closure).toEqual([fx.storePaths.busybox, fx.storePaths.data, fx.storePaths.script].sort());
      for (const path of result.closure) expect(store.pathInfo(path)).toBeDefined();
      expect(collected).toBeGreaterThan(0);
      expect((await store.verify()).ok).toBe(true);
      store.release('race');
      await store.gc();
    }
  }, 60_000);
});
