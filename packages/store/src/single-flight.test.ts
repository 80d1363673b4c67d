import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, expect, it } from 'vitest';
import type { NixFixtures, ServedCache } from '@flox-k8s/nix-fixtures';
import { Store } from './store.ts';
import { childResult, cleanup, servedFixtures, spawnRealiseChild, tempDir, throttledNars, waitForLine } from '../test/helpers.ts';

let fx: NixFixtures;
let cache: ServedCache;
const roots: string[] = [];

beforeAll(async () => {
  const { nixFixtures } = await import('@flox-k8s/nix-fixtures');
  const fixtures = await nixFixtures();
  // Slow NARs keep every download in flight long enough for all 8 processes to collide on it.
  ({ fx, cache } = await servedFixtures('none', { onRequest: throttledNars(fixtures.caches.none, 10) }));
});
afterAll(async () => {
  await cache.close();
  for (const root of roots) cleanup(root);
});

// syncfs: each process flushes once the paths it holds the locks of are unpacked, not waiting for
// paths another process holds, so none waits for another's flush.
it.each([true, 'syncfs'] as const)('8 processes released together by a barrier fetch each NAR exactly once; the others wait for it, and all succeed (fsync %s)', async (fsync) => {
  const root = tempDir();
  roots.push(root);
  const goFile = join(root, 'go');
  const requestsBefore = cache.requests.length;
  const children = Array.from({ length: 8 }, () =>
    spawnRealiseChild({ root, url: cache.url, publicKey: fx.publicKey, paths: [fx.storePaths.script, fx.storePaths.tree], goFile, fsync }),
  );
  const results = children.map((c) => childResult(c, 120_000));
  // The barrier: every child has opened the store and blocks on the go file before anyone starts.
  await Promise.all(children.map((c) => waitForLine(c, 'ready', 60_000)));
  expect(cache.requests.slice(requestsBefore)).toEqual([]); // nobody got ahead
  writeFileSync(goFile, '');
  const done = await Promise.all(results);
  const outputs = done.map((r) => {
    expect(r.stderr).toBe('');
    expect(r.code).toBe(0);
    return JSON.parse(r.stdout.split('\n').filter(Boolean).at(-1) as string) as { ok: boolean; closure: string[]; fetched: string[]; waited: string[]; released: number };
  });
  for (const o of outputs) expect(o).toMatchObject({ ok: true, closure: fx.closure });
  // released together (without the barrier, children started 1.5-2 s apart and one fetched everything)
  const released = outputs.map((o) => o.released);
  expect(Math.max(...released) - Math.min(...released)).toBeLessThan(1_000);
  const narRequests = cache.requests.slice(requestsBefore).filter((q) => q.path.startsWith('/nar/'));
  expect(narRequests.length).toBe(fx.closure.length);
  expect(new Set(narRequests.map((q) => q.path)).size).toBe(fx.closure.length);
  // every path was fetched by exactly one of the 8
  const fetchedBy = outputs.flatMap((o) => o.fetched);
  expect(fetchedBy.sort()).toEqual(fx.closure);
  // and others really waited for the fetcher: the slow NAR's lock was seen held by other processes
  const waitedFor = outputs.flatMap((o) => o.waited);
  expect(waitedFor.filter((p) => p === fx.storePaths.busybox).length).toBeGreaterThanOrEqual(2);
  for (const o of outputs) for (const p of o.waited) expect(o.fetched).not.toContain(p);
  const store = await Store.open(root);
  expect(await store.verify()).toMatchObject({ ok: true, checked: fx.closure.length });
}, 180_000);
