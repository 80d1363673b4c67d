import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, expect, it } from 'vitest';
import type { NixFixtures, ServedCache } from '@flox-k8s/nix-fixtures';
import { Store } from './store.ts';
import { childResult, cleanup, servedFixtures, spawnRealiseChild, tempDir, throttledNars, waitForLine } from '../test/helpers.ts';

let fx: NixFixtures;
let cache: ServedCache;
let root: string;

beforeAll(async () => {
  const { nixFixtures } = await import('@flox-k8s/nix-fixtures');
  const fixtures = await nixFixtures();
  // Slow NARs keep every download in flight long enough for all 8 processes to collide on it.
  ({ fx, cache } = await servedFixtures('none', { onRequest: throttledNars(fixtures.caches.none, 10) }));
  root = tempDir();
});
afterAll(async () => {
  await cache.close();
  cleanup(root);
});

it('8 processes realising the same closure at once fetch each NAR exactly once, and all succeed', async () => {
  const goFile = join(root, 'go');
  const children = Array.from({ length: 8 }, () =>
    spawnRealiseChild({ root, url: cache.url, publicKey: fx.publicKey, paths: [fx.storePaths.script, fx.storePaths.tree], goFile }),
  );
  const results = children.map((c) => childResult(c));
  // Start them together: each waits for the go file after opening the store.
  await new Promise((r) => setTimeout(r, 50));
  writeFileSync(goFile, '');
  await Promise.all(children.map((c) => waitForLine(c, 'ready').catch(() => undefined)));
  const done = await Promise.all(results);
  for (const r of done) {
    expect(r.stderr).toBe('');
    expect(r.code).toBe(0);
    expect(JSON.parse(r.stdout.split('\n').filter(Boolean).at(-1) as string)).toMatchObject({ ok: true, closure: fx.closure });
  }
  const narRequests = cache.requests.filter((q) => q.path.startsWith('/nar/'));
  expect(narRequests.length).toBe(fx.closure.length);
  expect(new Set(narRequests.map((q) => q.path)).size).toBe(fx.closure.length);
  // every path was fetched by exactly one of the 8
  const fetchedBy = done.flatMap((r) => (JSON.parse(r.stdout.split('\n').filter(Boolean).at(-1) as string) as { fetched: string[] }).fetched);
  expect(fetchedBy.sort()).toEqual(fx.closure);
  const store = await Store.open(root);
  expect(await store.verify()).toMatchObject({ ok: true, checked: fx.closure.length });
}, 120_000);
