import { existsSync, readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { afterEach, describe, expect, it } from 'vitest';
import { dumpNar, hashNar } from '@flox-k8s/nar';
import type { ServedCache } from '@flox-k8s/nix-fixtures';
import { Store } from './store.ts';
import type { RealiseProgress } from './realise.ts';
import { cleanup, expectAbortMidBody, fakeStorePath, servedFixtures, tempDir, throttledNars, heldLocks } from '../test/helpers.ts';

const dirs: string[] = [];
const caches: ServedCache[] = [];
afterEach(async () => {
  for (const c of caches.splice(0)) await c.close();
  for (const d of dirs.splice(0)) cleanup(d);
});

async function setup(compression: 'xz' | 'zstd' | 'bzip2' | 'none' = 'zstd', opts = {}) {
  const served = await servedFixtures(compression, opts);
  caches.push(served.cache);
  const root = tempDir();
  dirs.push(root);
  const store = await Store.open(root);
  return { ...served, root, store };
}

describe('realise', () => {
  it.each(['xz', 'zstd'] as const)('realises the fixture closure from a %s cache byte-for-byte', async (compression) => {
    const { fx, cache, store, realiseOptions } = await setup(compression);
    const events: RealiseProgress[] = [];
    const result = await store.realise([fx.storePaths.script, fx.storePaths.tree], { ...realiseOptions, onProgress: (e) => events.push(e) });
    expect(result.closure).toEqual(fx.closure);
    expect(result.fetched).toEqual(fx.closure);
    expect(result.present).toEqual([]);
    expect(result.narBytes).toBeGreaterThan(0);
    expect(result.bytesDownloaded).toBeGreaterThan(0);
    for (const path of fx.closure) {
      const ours = await hashNar(dumpNar(store.hostPath(path)));
      const nix = await hashNar(dumpNar(path));
      expect(ours).toEqual(nix);
      expect(store.pathInfo(path)?.narHash).toBe(nix.narHash);
      expect(store.hostPath(path)).toBe(join(store.hostStoreDir, path.slice('/nix/store/'.length)));
      expect(cache.count(new RegExp(`^/${path.slice(11, 43)}\\.narinfo$`))).toBe(1);
    }
    // script references data and busybox: recorded as full store paths
    expect(store.pathInfo(fx.storePaths.script)?.references).toEqual(
      expect.arrayContaining([fx.storePaths.busybox, fx.storePaths.data]),
    );
    expect(events.filter((e) => e.type === 'registered').map((e) => (e as { storePath: string }).storePath).sort()).toEqual(fx.closure);
    expect(events[0]).toMatchObject({ type: 'resolved', closure: 4, missing: 4 });
    // nobody else held a lock: no waiting, nothing found present
    expect(events.filter((e) => e.type === 'waiting' || e.type === 'present')).toEqual([]);
    // a path becomes visible only after its references: busybox and data register before script
    const order = events.filter((e) => e.type === 'registered').map((e) => (e as { storePath: string }).storePath);
    expect(order.indexOf(fx.storePaths.script)).toBeGreaterThan(order.indexOf(fx.storePaths.data));
    expect(order.indexOf(fx.storePaths.script)).toBeGreaterThan(order.indexOf(fx.storePaths.busybox));
    expect(readdirSync(join(store.root, 'tmp'))).toEqual([]);
    expect(heldLocks(store.root)).toEqual([]);
  });

  it('a warm realise makes no request and reports everything present', async () => {
    const { fx, cache, store, realiseOptions } = await setup();
    await store.realise([fx.storePaths.script], realiseOptions);
    const before = cache.requests.length;
    // pretend the closure was last used two minutes ago: a warm realise records a new use
    const { utimesSync, statSync, readdirSync: ls } = await import('node:fs');
    const old = new Date(Date.now() - 120_000);
    const [indexFile] = ls(join(store.root, 'closures')).map((f) => join(store.root, 'closures', f));
    utimesSync(indexFile as string, old, old);
    const warm = await store.realise([fx.storePaths.script], realiseOptions);
    expect(statSync(indexFile as string).mtimeMs).toBeGreaterThan(Date.now() - 60_000);
    expect(cache.requests.length).toBe(before);
    expect(warm.fetched).toEqual([]);
    expect(warm.present).toEqual([fx.storePaths.busybox, fx.storePaths.data, fx.storePaths.script].sort());
    // a fresh Store object on the same root sees the same valid paths
    const again = await Store.open(store.root);
    const third = await again.realise([fx.storePaths.script], realiseOptions);
    expect(third.fetched).toEqual([]);
    expect(cache.requests.length).toBe(before);
  });

  it('fetches only what is missing', async () => {
    const { fx, cache, store, realiseOptions } = await setup();
    await store.realise([fx.storePaths.data], realiseOptions);
    const result = await store.realise([fx.storePaths.script], realiseOptions);
    expect(result.fetched).toEqual([fx.storePaths.busybox, fx.storePaths.script].sort());
    expect(result.present).toEqual([fx.storePaths.data]);
    expect(cache.count('/nar/')).toBe(3);
    // the cache was not even asked about data again
    expect(cache.count(`/${fx.storePaths.data.slice(11, 43)}.narinfo`)).toBe(1);
  });

  it('concurrent realises in one process download each NAR once', async () => {
    const { fx, cache, store, realiseOptions } = await setup();
    const results = await Promise.all(Array.from({ length: 5 }, () => store.realise([fx.storePaths.script, fx.storePaths.tree], realiseOptions)));
    for (const r of results) expect(r.closure).toEqual(fx.closure);
    expect(cache.count('/nar/')).toBe(fx.closure.length);
  });

  it('rejects a path that is not a store path with a coded error', async () => {
    const { store, realiseOptions } = await setup();
    await expect(store.realise(['/usr/bin/env'], realiseOptions)).rejects.toMatchObject({ code: 'FLOXK8S_STORE_PATH_INVALID' });
    await expect(store.realise([`${fakeStorePath('x')}/bin/x`], realiseOptions)).rejects.toMatchObject({
      code: 'FLOXK8S_STORE_PATH_INVALID',
    });
  });

  it('a path no cache has fails with the client code and leaves nothing', async () => {
    const { store, realiseOptions } = await setup();
    await expect(store.realise([fakeStorePath('absent')], realiseOptions)).rejects.toMatchObject({ code: 'FLOXK8S_NARINFO_NOT_FOUND' });
    expect(readdirSync(join(store.root, 'store'))).toEqual([]);
  });

  it('a corrupted NAR is rejected, never becomes visible, and its temp dir is removed', async () => {
    const { fx, store, realiseOptions } = await setup('none', {
      onRequest: (req: { url?: string }, res: { writeHead: (s: number, h: object) => { end: (b: Buffer) => void } }) => {
        if (!req.url?.startsWith('/nar/')) return false;
        const file = join(fx.caches.none, decodeURIComponent(req.url));
        const bytes = readFileSync(file);
        bytes[bytes.length - 100] = (bytes[bytes.length - 100] ?? 0) ^ 0xff; // flip a byte of file content near the end
        res.writeHead(200, { 'content-length': String(bytes.length) }).end(bytes);
        return true;
      },
    });
    const err = await store.realise([fx.storePaths.data], realiseOptions).catch((e: unknown) => e);
    expect((err as { code?: string }).code).toMatch(/^FLOXK8S_(NAR_HASH_MISMATCH|FILE_HASH_MISMATCH|NAR_)/);
    expect(existsSync(store.hostPath(fx.storePaths.data))).toBe(false);
    expect(store.pathInfo(fx.storePaths.data)).toBeUndefined();
    expect(readdirSync(join(store.root, 'tmp'))).toEqual([]);
    expect(heldLocks(store.root)).toEqual([]);
  });

  it('AbortSignal cancels a realise: coded error, nothing partial visible, temp freed', async () => {
    const { fx, store, realiseOptions } = await setup('zstd', {
      onRequest: async (req: { url?: string }) => {
        if (req.url?.startsWith('/nar/')) await sleep(2_000);
        return false;
      },
    });
    const controller = new AbortController();
    const pending = store.realise([fx.storePaths.script], { ...realiseOptions, signal: controller.signal });
    setTimeout(() => controller.abort(new Error('test abort')), 300);
    await expect(pending).rejects.toMatchObject({ code: 'FLOXK8S_STORE_ABORTED' });
    expect(readdirSync(join(store.root, 'store'))).toEqual([]);
    expect(readdirSync(join(store.root, 'tmp'))).toEqual([]);
    expect(heldLocks(store.root)).toEqual([]);
    expect(readdirSync(join(store.root, 'roots', 'inflight'))).toEqual([]);
  });

  it('AbortSignal during a NAR download stops it: coded error, temp freed', async () => {
    const { nixFixtures } = await import('@flox-k8s/nix-fixtures');
    const { fx, store, realiseOptions } = await setup('none', { onRequest: throttledNars((await nixFixtures()).caches.none, 20) });
    await expectAbortMidBody(store, fx.storePaths.busybox, realiseOptions);
  });

  it('one caller giving up does not cancel a download another caller in the process shares', async () => {
    const { nixFixtures } = await import('@flox-k8s/nix-fixtures');
    const { fx, cache, store, realiseOptions } = await setup('none', { onRequest: throttledNars((await nixFixtures()).caches.none, 10) });
    const impatient = new AbortController();
    const first = store.realise([fx.storePaths.busybox], { ...realiseOptions, signal: impatient.signal });
    const second = store.realise([fx.storePaths.busybox], realiseOptions);
    setTimeout(() => impatient.abort(new Error('gave up')), 50);
    await expect(first).rejects.toMatchObject({ code: 'FLOXK8S_STORE_ABORTED' });
    const result = await second;
    expect(result.closure).toEqual([fx.storePaths.busybox]);
    expect(store.pathInfo(fx.storePaths.busybox)).toBeDefined();
    expect(cache.count('/nar/')).toBe(1);
  });

  it('an already-aborted signal rejects before any request', async () => {
    const { fx, cache, store, realiseOptions } = await setup();
    await expect(store.realise([fx.storePaths.data], { ...realiseOptions, signal: AbortSignal.abort() })).rejects.toMatchObject({
      code: 'FLOXK8S_STORE_ABORTED',
    });
    expect(cache.requests.length).toBe(0);
  });

  it('reports per-phase durations', async () => {
    const { fx, store, realiseOptions } = await setup();
    const result = await store.realise([fx.storePaths.script], realiseOptions);
    expect(Object.keys(result.durations).sort()).toEqual(['fetch', 'resolve', 'unpack', 'verify']);
    expect(result.durations.resolve).toBeGreaterThan(0);
    expect(result.durations.fetch).toBeGreaterThan(0);
    expect(result.durations.unpack).toBeGreaterThan(0);
  });

  it('realise with a lease holds the paths before returning', async () => {
    const { fx, store, realiseOptions } = await setup();
    await store.realise([fx.storePaths.script], { ...realiseOptions, lease: { id: 'pod-1', ttlMs: 60_000 } });
    const gc = await store.gc();
    expect(gc.deleted).toEqual([]);
    expect(store.release('pod-1')).toBe(true);
    const gc2 = await store.gc();
    expect(gc2.deleted.sort()).toEqual([fx.storePaths.busybox, fx.storePaths.data, fx.storePaths.script].sort());
    // the closure index must not claim anything once its paths are gone: the next realise fetches again
    const again = await store.realise([fx.storePaths.script], realiseOptions);
    expect(again.fetched).toEqual([fx.storePaths.busybox, fx.storePaths.data, fx.storePaths.script].sort());
  });
});
