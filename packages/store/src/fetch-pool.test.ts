import { existsSync, readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { dumpNar, hashNar } from '@flox-k8s/nar';
import type { ServedCache } from '@flox-k8s/nix-fixtures';
import { Store } from './store.ts';
import { cleanup, expectAbortMidBody, fakeStorePath, servedFixtures, tempDir, throttledNars, heldLocks } from '../test/helpers.ts';

const dirs: string[] = [];
const caches: ServedCache[] = [];
afterEach(async () => {
  for (const c of caches.splice(0)) await c.close();
  for (const d of dirs.splice(0)) cleanup(d);
});

async function setup(compression: 'xz' | 'zstd' | 'none', opts = {}) {
  const served = await servedFixtures(compression, opts);
  caches.push(served.cache);
  const root = tempDir();
  dirs.push(root);
  return { ...served, store: await Store.open(root) };
}

describe('realise with fetch worker threads', () => {
  it.each(['xz', 'zstd'] as const)('realises the fixture closure from a %s cache byte-for-byte', async (compression) => {
    const { fx, cache, store, realiseOptions } = await setup(compression);
    const progress: number[] = [];
    const result = await store.realise([fx.storePaths.script, fx.storePaths.tree], {
      ...realiseOptions,
      fetchWorkers: 2,
      onProgress: (e) => {
        if (e.type === 'fetch-progress') progress.push(e.bytesOut);
      },
    });
    expect(result.fetched).toEqual(fx.closure);
    for (const path of fx.closure) {
      expect(await hashNar(dumpNar(store.hostPath(path)))).toEqual(await hashNar(dumpNar(path)));
    }
    expect(cache.count(/^\/nar\//)).toBe(fx.closure.length);
    expect(progress.length).toBeGreaterThan(0);
    expect(readdirSync(join(store.root, 'tmp'))).toEqual([]);
  });

  it('a corrupted NAR fails with its code across the thread boundary and leaves nothing behind', async () => {
    const { fx, store, realiseOptions } = await setup('none', {
      onRequest: (req: { url?: string }, res: { writeHead: (s: number, h: object) => { end: (b: Buffer) => void } }) => {
        if (!req.url?.startsWith('/nar/')) return false;
        const bytes = readFileSync(join(fx.caches.none, decodeURIComponent(req.url)));
        bytes[bytes.length - 100] = (bytes[bytes.length - 100] ?? 0) ^ 0xff;
        res.writeHead(200, { 'content-length': String(bytes.length) }).end(bytes);
        return true;
      },
    });
    const err = await store.realise([fx.storePaths.data], { ...realiseOptions, fetchWorkers: 1 }).catch((e: unknown) => e);
    expect((err as { code?: string }).code).toMatch(/^FLOXK8S_(NAR_HASH_MISMATCH|FILE_HASH_MISMATCH|NAR_)/);
    expect(err).toBeInstanceOf(Error);
    expect(existsSync(store.hostPath(fx.storePaths.data))).toBe(false);
    expect(readdirSync(join(store.root, 'tmp'))).toEqual([]);
    expect(heldLocks(store.root)).toEqual([]);
  });

  it('an abort reaches the worker mid-download: coded error, temp freed', async () => {
    const { nixFixtures } = await import('@flox-k8s/nix-fixtures');
    const { fx, store, realiseOptions } = await setup('none', { onRequest: throttledNars((await nixFixtures()).caches.none, 20) });
    await expectAbortMidBody(store, fx.storePaths.busybox, { ...realiseOptions, fetchWorkers: 2 });
  });

  it('a worker module given by the caller (a bundle\'s entry point) fetches the closure', async () => {
    const { fx, cache, realiseOptions } = await setup('xz');
    const root = tempDir();
    dirs.push(root);
    const store = await Store.open(root, { fetchWorker: new URL('../test/app-fetch-worker.ts', import.meta.url) });
    const result = await store.realise([fx.storePaths.script], { ...realiseOptions, fetchWorkers: 2 });
    expect(result.fetched).toEqual([fx.storePaths.busybox, fx.storePaths.data, fx.storePaths.script].sort());
    for (const path of result.fetched) expect(await hashNar(dumpNar(store.hostPath(path)))).toEqual(await hashNar(dumpNar(path)));
    expect(cache.count(/^\/nar\//)).toBe(3);
  });

  it('a worker module that does not exist fails before any download, with its code', async () => {
    const { fx, cache, realiseOptions } = await setup('xz');
    const root = tempDir();
    dirs.push(root);
    // What a bundle of the store looked like before it passed its own entry point.
    const store = await Store.open(root, { fetchWorker: new URL(`file://${root}/chunks/fetch-worker.js`) });
    const err = await store.realise([fx.storePaths.script], { ...realiseOptions, fetchWorkers: 2 }).catch((e: unknown) => e);
    expect(err).toMatchObject({ code: 'FLOXK8S_STORE_FETCH_WORKER_MISSING' });
    expect((err as Error).message).toContain(`${root}/chunks/fetch-worker.js`);
    expect(cache.count(/^\/nar\//)).toBe(0);
    expect(readdirSync(join(store.root, 'tmp'))).toEqual([]);
    expect(readdirSync(join(store.root, 'roots', 'inflight'))).toEqual([]);
    expect(heldLocks(store.root)).toEqual([]);
  });

  it('a missing narinfo still fails with its code when workers are requested', async () => {
    const { store, realiseOptions } = await setup('zstd');
    await expect(store.realise([fakeStorePath('absent')], { ...realiseOptions, fetchWorkers: 2 })).rejects.toMatchObject({
      code: 'FLOXK8S_NARINFO_NOT_FOUND',
    });
  });

  it.each([1, 0])('a narinfo whose Compression we cannot decode fails with its code (fetchWorkers %s), not "worker stopped"', async (fetchWorkers) => {
    const { fx, cache, store, realiseOptions } = await setup('zstd', {
      // The compression is not covered by the signature: rewritten on the way, the narinfo still verifies.
      onRequest: (req: { url?: string }, res: { writeHead: (s: number, h: object) => { end: (b: string) => void } }) => {
        if (!req.url?.endsWith('.narinfo')) return false;
        const text = readFileSync(join(fx.caches.zstd, req.url), 'utf8').replace(/^Compression: .*$/m, 'Compression: br');
        res.writeHead(200, { 'content-length': String(Buffer.byteLength(text)) }).end(text);
        return true;
      },
    });
    const err = await store.realise([fx.storePaths.data], { ...realiseOptions, fetchWorkers }).catch((e: unknown) => e);
    expect(err).toMatchObject({ code: 'FLOXK8S_COMPRESSION_UNSUPPORTED' });
    expect(cache.count('/nar/')).toBe(0);
    expect(readdirSync(join(store.root, 'tmp'))).toEqual([]);
    expect(heldLocks(store.root)).toEqual([]);
  });
});
