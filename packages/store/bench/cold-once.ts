// One cold realise of the bench closure, ours or Nix's (for profiling: run
// under --cpu-prof, perf or /usr/bin/time).
// Run: node --conditions=@flox-k8s/source bench/cold-once.ts <xz|zstd> <fsync|no-fsync|nix> [dir=/tmp] [fetchWorkers]
import { mkdirSync, mkdtempSync, rmSync } from 'node:fs';
import { join } from 'node:path';
import { nixBenchFixtures } from '@flox-k8s/nix-fixtures';
import type * as StoreModule from '../src/index.ts';
import { childrenCpu, processCpu } from './proc-cpu.ts';
import { nixCopy, serveOutOfProcess } from './serve-out-of-process.ts';

// --dist: measure the built JavaScript (what the agent runs; its fetch workers then load built code
// too) instead of the TypeScript sources. Run it without --conditions=@flox-k8s/source, after a build.
const dist = process.argv.includes('--dist');
const argv = process.argv.filter((a) => a !== '--dist');
const { Store } = (await import(dist ? '../dist/index.js' : '../src/index.ts')) as typeof StoreModule;

const compression = (argv[2] ?? 'zstd') as 'xz' | 'zstd';
const variant = argv[3] ?? 'fsync';
const parent = argv[4] ?? '/tmp';
const workers = argv[5] === undefined ? undefined : Number(argv[5]);
const bf = await nixBenchFixtures();
const cache = await serveOutOfProcess(bf.caches[compression]);
const root = mkdtempSync(join(parent, 'flox-bench-once-'));
const cpu = (): string => {
  const c = process.cpuUsage(cpu0);
  return `client CPU ${((c.user + c.system) / 1e6).toFixed(2)} s (user ${(c.user / 1e6).toFixed(2)}, sys ${(c.system / 1e6).toFixed(2)}), server CPU ${(processCpu(cache.pid) - server0).toFixed(2)} s`;
};
const server0 = processCpu(cache.pid);
const children0 = childrenCpu();
const cpu0 = process.cpuUsage();
try {
  const t0 = performance.now();
  if (variant === 'nix') {
    mkdirSync(join(root, 'xdg'));
    await nixCopy(cache.url, join(root, 'nix'), bf.publicKey, bf.roots, join(root, 'xdg'));
    const c = childrenCpu() - children0;
    console.log(`${compression} nix copy: ${((performance.now() - t0) / 1000).toFixed(2)} s; nix CPU ${c.toFixed(2)} s; ${cpu().replace(/^client/, 'bench process')}`);
  } else {
    const store = await Store.open(root, { fsync: variant === 'fsync' });
    const timeline: string[] = [];
    const r = await store.realise(bf.roots, {
      caches: [{ url: cache.url }],
      trustedKeys: [bf.publicKey],
      fetchWorkers: workers,
      concurrency: process.env['CONCURRENCY'] === undefined ? undefined : Number(process.env['CONCURRENCY']),
      onProgress: (e) => {
        if (e.type !== 'fetch-progress') timeline.push(`${(performance.now() - t0).toFixed(0).padStart(5)} ${e.type} ${'storePath' in e ? e.storePath.slice(44) : ''}`);
      },
    });
    if (process.env['TIMELINE'] === '1') console.log(timeline.join('\n'));
    const ms = performance.now() - t0;
    console.log(`${compression} ${variant}: ${(ms / 1000).toFixed(2)} s, ${r.fetched.length} paths; ${cpu()}`, JSON.stringify(r.durations));
  }
} finally {
  await cache.close();
  // KEEP=1 leaves the store for the caller to delete later (deleting many inodes slows the next run's creates).
  if (process.env['KEEP'] !== '1') rmSync(root, { recursive: true, force: true });
}
