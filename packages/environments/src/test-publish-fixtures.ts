// Test helpers shared by the publish suites (not shipped: test-* files stay out of the build).
import { readdir } from 'node:fs/promises';
import { join, relative } from 'node:path';
import { serveCache, type NixFixtures, type ServedCache } from '@flox-k8s/nix-fixtures';

/**
 * The fixture's signed cache on loopback; under `/broken` the same cache with one closure
 * path missing (as if it had never been pushed).
 */
export function serveFixtureCache(fixtures: NixFixtures): Promise<ServedCache> {
  const missing = fixtures.storePaths.data.slice('/nix/store/'.length, '/nix/store/'.length + 32);
  return serveCache(fixtures.caches.zstd, {
    onRequest: (req, res) => {
      if (req.url?.startsWith('/broken/')) {
        if (req.url.includes(missing)) return void res.writeHead(404).end();
        req.url = req.url.slice('/broken'.length);
      }
      return false;
    },
  });
}

/** Every file and directory under `root`, relative and sorted (empty when it does not exist). */
export async function tree(root: string): Promise<string[]> {
  const entries = await readdir(root, { recursive: true, withFileTypes: true }).catch(() => []);
  return entries.map((e) => relative(root, join(e.parentPath, e.name))).sort();
}
