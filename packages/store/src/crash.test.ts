import { readdirSync } from 'node:fs';
import { join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { afterAll, beforeAll, expect, it } from 'vitest';
import type { NixFixtures, ServedCache } from '@flox-k8s/nix-fixtures';
import { Store } from './store.ts';
import { childResult, cleanup, servedFixtures, spawnRealiseChild, tempDir, throttledNars, waitForLine, heldLocks } from '../test/helpers.ts';

const KILLS = 32;

let fx: NixFixtures;
let cache: ServedCache;
let root: string;

beforeAll(async () => {
  const { nixFixtures } = await import('@flox-k8s/nix-fixtures');
  const fixtures = await nixFixtures();
  ({ fx, cache } = await servedFixtures('none', { onRequest: throttledNars(fixtures.caches.none) }));
  root = tempDir();
});
afterAll(async () => {
  await cache.close();
  cleanup(root);
});

// syncfs: records are written before the flush and renames wait for it, so a kill also lands
// between a path's record and its rename (an orphan record, removed at open).
it.each([false, 'syncfs'] as const)(`a realise SIGKILLed at random points (${KILLS} times) leaves only valid paths, and the next realise completes (fsync %s)`, async (fsync) => {
  const paths = [fx.storePaths.script, fx.storePaths.tree];
  const leftBehind: number[] = [];
  const orphanRecords: number[] = [];
  for (let i = 0; i < KILLS; i++) {
    // start every round from an empty store so the child always has work to do
    await (await Store.open(root, { fsync: false })).gc();
    // fsync only matters for power loss; a SIGKILL leaves the page cache intact.
    const child = spawnRealiseChild({ root, url: cache.url, publicKey: fx.publicKey, paths, fsync });
    const exited = childResult(child);
    await waitForLine(child, 'ready');
    // Stratified random: kill i lands somewhere in the i-th slice of the first 300 ms, so every stage gets hit.
    await sleep(Math.floor(((i + Math.random()) * 300) / KILLS));
    child.kill('SIGKILL');
    await exited;

    const store = await Store.open(root, { fsync });
    orphanRecords.push(store.recovered.orphanMetadata);
    const verified = await store.verify();
    expect(verified).toMatchObject({ ok: true, corrupt: [], incomplete: [], unregistered: [] });
    expect(readdirSync(join(root, 'tmp'))).toEqual([]);
    expect(heldLocks(root)).toEqual([]);
    expect(readdirSync(join(root, 'roots', 'inflight'))).toEqual([]);
    const valid = fx.closure.filter((p) => store.pathInfo(p) !== undefined);
    leftBehind.push(valid.length);

    const result = await store.realise(paths, { caches: [{ url: cache.url }], trustedKeys: [fx.publicKey] });
    expect(result.closure).toEqual(fx.closure);
    expect(result.present).toEqual(valid);
    expect((await store.verify()).ok).toBe(true);
  }
  // The kills landed at different points: before anything was registered, midway, and (sometimes) after.
  expect(leftBehind.some((n) => n === 0)).toBe(true);
  if (fsync === 'syncfs') {
    // The paths become visible together, after the flush: a kill while they wait for it leaves
    // records without their paths (15 of 32 rounds when written), which Store.open removed.
    expect(orphanRecords.some((n) => n > 0)).toBe(true);
  } else {
    expect(leftBehind.some((n) => n > 0 && n < fx.closure.length)).toBe(true);
  }
}, 180_000);
