import { mkdtempSync, rmSync } from 'node:fs';
import { join } from 'node:path';
import { nixBenchFixtures, serveCache } from '@flox-k8s/nix-fixtures';
import { Store } from '../src/index.ts';
const bf = await nixBenchFixtures();
const compression = (process.argv[2] ?? 'zstd') as 'zstd' | 'xz';
const cache = await serveCache(bf.caches[compression]);
for (const [conc, fsync] of [[4, false], [8, false], [16, false], [32, false], [16, true]] as const) {
  const root = mkdtempSync('/tmp/flox-conc-');
  const t = performance.now();
  const s = await Store.open(root, { fsync });
  const r = await s.realise(bf.roots, { caches: [{ url: cache.url }], trustedKeys: [bf.publicKey], concurrency: conc });
  console.log(compression, 'conc', conc, 'fsync', fsync, ((performance.now() - t) / 1000).toFixed(2), JSON.stringify(r.durations));
  rmSync(root, { recursive: true, force: true });
}
await cache.close();
