import { readdirSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { BinaryCacheClient } from '@flox-k8s/nar';
import { nixLargeFixtures, nixSkipReason, serveCache, type NixLargeFixtures, type ServedCache } from '@flox-k8s/nix-fixtures';
import { FETCH_POOL_MIN_BYTES } from './realise-closure.ts';
import { Store } from './store.ts';
import { cleanup, tempDir } from '../test/helpers.ts';

// The node agent realises with a long-lived client of its own. Its xz NARs used to be decoded on
// its one thread whatever their size (the large fixture: ~9 s against ~7.5 s with workers, same
// run). Now a client decodes xz NARs above 256 KiB by `xz -dc` processes (@flox-k8s/nar's
// decoder processes), off this thread, and fetch workers start only when at least
// FETCH_POOL_MIN_BYTES would be decoded on it (xz in WASM), client or not. Seen through the worker
// module check, which runs before any download.
const skip = nixSkipReason();
describe.skipIf(skip !== undefined)(`default fetch workers with a caller's client${skip ? ` (skipped: ${skip})` : ''}`, () => {
  let large: NixLargeFixtures;
  let cache: ServedCache;
  const roots: string[] = [];

  beforeAll(async () => {
    large = await nixLargeFixtures();
    cache = await serveCache(large.caches.xz);
  }, 30 * 60_000);

  afterAll(async () => {
    await cache?.close();
    for (const r of roots) cleanup(r);
  });

  async function realiseWithMissingWorker(fetchWorkers: number | undefined, decoders?: { xz: 'wasm' }): Promise<{ error: unknown; root: string }> {
    const root = tempDir('flox-store-pool-default-');
    roots.push(root);
    const store = await Store.open(root, { fetchWorker: new URL(`file://${root}/no-such-worker.mjs`) });
    const caches = [{ url: cache.url }];
    const client = new BinaryCacheClient({ caches, trustedKeys: [large.publicKey], storeDir: store.storeDir, ...(decoders ? { decoders } : {}) });
    try {
      const error = await store
        .realise(large.roots, { caches, trustedKeys: [large.publicKey], client, ...(fetchWorkers === undefined ? {} : { fetchWorkers }) })
        .then(() => undefined, (e: unknown) => e);
      return { error, root };
    } finally {
      await client.close();
    }
  }

  it('starts workers for the xz closure when its client decodes xz in WASM (a missing worker module fails before any download)', async () => {
    expect(FETCH_POOL_MIN_BYTES).toBeLessThan(large.narSize);
    const before = cache.count(/^\/nar\//);
    const { error, root } = await realiseWithMissingWorker(undefined, { xz: 'wasm' });
    expect(error).toMatchObject({ code: 'FLOXK8S_STORE_FETCH_WORKER_MISSING' });
    expect(cache.count(/^\/nar\//)).toBe(before);
    expect(readdirSync(join(root, 'store'))).toEqual([]);
  });

  it('with the default client the xz closure is realised without workers (the worker module is never looked at)', async () => {
    const { error, root } = await realiseWithMissingWorker(undefined);
    expect(error).toBeUndefined();
    expect(readdirSync(join(root, 'store')).length).toBe(large.closure.length);
  }, 5 * 60_000);
});
