import { readdirSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { nixLargeFixtures, nixSkipReason, serveCache, type NixLargeFixtures, type ServedCache } from '@flox-k8s/nix-fixtures';
import { childResult, cleanup, spawnRealiseChild, tempDir } from '../test/helpers.ts';

// A cold realise of a real environment (the large fixture: 138 paths, 344 MB of NAR, one 127 MB
// file) with the default options, as the shim's no-agent fallback runs it, in its own process so
// its peak RSS is its own. Measured with bench/large-vs-nix.ts: 345-358 MB when the default started
// two fetch workers for the zstd cache (a client, an isolate and buffers each), 255-266 MB without;
// in this test (no fsync) 305 MB before, 235-245 MB after.
const PEAK_RSS_BOUND_MB = 280;

const skip = nixSkipReason();
describe.skipIf(skip !== undefined)(`bounded memory on a real environment${skip ? ` (skipped: ${skip})` : ''}`, () => {
  let large: NixLargeFixtures;
  let cache: ServedCache;
  const root = tempDir('flox-store-bounded-');

  beforeAll(async () => {
    large = await nixLargeFixtures();
    cache = await serveCache(large.caches.zstd);
  }, 30 * 60_000);

  afterAll(async () => {
    await cache?.close();
    cleanup(root);
  });

  it(`a cold realise of the large closure from zstd, default options, peaks under ${PEAK_RSS_BOUND_MB} MB`, async () => {
    const child = spawnRealiseChild({ root, url: cache.url, publicKey: large.publicKey, paths: large.roots, fsync: false });
    const { code, stdout, stderr } = await childResult(child, 10 * 60_000);
    expect(code, stderr).toBe(0);
    const result = JSON.parse(stdout.trim().split('\n').at(-1) ?? '{}') as { fetched: string[]; vmHwmKb: number };
    expect(result.fetched).toEqual(large.closure);
    expect(readdirSync(join(root, 'store')).length).toBe(large.closure.length);
    expect(result.vmHwmKb / 1024).toBeGreaterThan(40); // a real reading, not a missing field
    expect(result.vmHwmKb / 1024, `peak RSS ${(result.vmHwmKb / 1024).toFixed(0)} MB`).toBeLessThan(PEAK_RSS_BOUND_MB);
  }, 15 * 60_000);
});
