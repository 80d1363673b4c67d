// Cold realise of a ≥ 50-path, ≥ 200 MB closure from a loopback HTTP cache,
// ours vs real Nix 2.8 substituting the same closure from the same cache into
// a fresh store, alternating, in the same run, for xz and zstd.
// Target: ours ≤ 0.67× Nix's wall time.
// Run: node --conditions=@flox-k8s/source bench/cold-realise.ts [runs=3] [dir=/tmp] [fetchWorkers]
//  or, built: pnpm build && node bench/cold-realise.ts --dist [runs] [dir] [fetchWorkers]
import { mkdirSync, mkdtempSync, renameSync, rmSync } from 'node:fs';
import { loadavg } from 'node:os';
import { join } from 'node:path';
import { nixBenchFixtures } from '@flox-k8s/nix-fixtures';
import type * as StoreModule from '../src/index.ts';
import { median } from './synthetic.ts';
import { nixCopy, serveOutOfProcess } from './serve-out-of-process.ts';

// --dist: measure the built JavaScript (what the agent runs; its fetch workers then load built code
// too) instead of the TypeScript sources. Run it without --conditions=@flox-k8s/source, after a build.
const dist = process.argv.includes('--dist');
const argv = process.argv.filter((a) => a !== '--dist');
const { Store } = (await import(dist ? '../dist/index.js' : '../src/index.ts')) as typeof StoreModule;

const RUNS = Number(argv[2] ?? 3);
const parent = argv[3] ?? '/tmp';
const TARGET = 0.67;
// Fetch worker threads (default: the store's default).
const WORKERS = argv[4] === undefined ? undefined : Number(argv[4]);

const bf = await nixBenchFixtures();
console.log(`closure: ${bf.closure.length} paths, ${(bf.narSize / 1e6).toFixed(0)} MB of NAR; stores under ${parent}; ${RUNS} runs each`);
const work = mkdtempSync(join(parent, 'flox-bench-cold-'));
// Finished stores are only moved aside, and deleted at the very end: ext4's
// inode allocator skips inodes freed in the last minutes (recently_deleted()
// in perf), so deleting 250 MB of small files between runs made the *next*
// run's file creations several times slower, whichever side ran next.
mkdirSync(join(work, 'trash'));
let trashed = 0;
const trash = (dir: string): void => renameSync(dir, join(work, 'trash', String(trashed++)));
const load = (): string => loadavg().map((x) => x.toFixed(2)).join(' ');
console.log(`load average at start: ${load()}`);
try {
  for (const compression of ['xz', 'zstd'] as const) {
    const cache = await serveOutOfProcess(bf.caches[compression]);
    const ours: number[] = [];
    const oursNoFsync: number[] = [];
    const oursInline: number[] = [];
    const nix: number[] = [];
    try {
      for (let run = 0; run < RUNS; run++) {
        // Rotated each run, so no variant always runs first (or right after another).
        const variants = ['fsync', 'no-fsync', 'fsync-w0', 'nix'] as const;
        for (let v = 0; v < variants.length; v++) {
          const variant = variants[(v + run) % variants.length] as (typeof variants)[number];
          if (variant === 'nix') {
            const to = join(work, `nix-${compression}-${run}`);
            const xdg = join(work, `xdg-${compression}-${run}`);
            mkdirSync(xdg);
            const t1 = performance.now();
            await nixCopy(cache.url, to, bf.publicKey, bf.roots, xdg);
            nix.push(performance.now() - t1);
            trash(to);
            continue;
          }
          const fsync = variant !== 'no-fsync';
          const root = join(work, `ours-${compression}-${run}-${variant}`);
          const t0 = performance.now();
          const store = await Store.open(root, { fsync });
          // fsync-w0: everything on the calling thread, as before fetch workers existed.
          const fetchWorkers = variant === 'fsync-w0' ? 0 : WORKERS;
          const r = await store.realise(bf.roots, { caches: [{ url: cache.url }], trustedKeys: [bf.publicKey], fetchWorkers });
          (variant === 'fsync' ? ours : variant === 'no-fsync' ? oursNoFsync : oursInline).push(performance.now() - t0);
          if (r.fetched.length !== bf.closure.length) throw new Error(`fetched ${r.fetched.length} of ${bf.closure.length}`);
          if (run === RUNS - 1 && variant === 'fsync') console.log(`  ${compression} durations of the last run:`, JSON.stringify(r.durations));
          trash(root);
        }
      }
    } finally {
      await cache.close();
    }
    const [o, of, n] = [median(ours), median(oursNoFsync), median(nix)];
    const fmt = (xs: number[]): string => xs.map((x) => (x / 1000).toFixed(2)).join(', ');
    console.log(`${compression}: ours (fsync) median ${(o / 1000).toFixed(2)} s [${fmt(ours)}]`);
    console.log(`${compression}: ours (no fsync) median ${(of / 1000).toFixed(2)} s [${fmt(oursNoFsync)}]`);
    console.log(`${compression}: ours (fsync, fetchWorkers 0) median ${(median(oursInline) / 1000).toFixed(2)} s [${fmt(oursInline)}] ratio ${(median(oursInline) / n).toFixed(2)}`);
    console.log(`${compression}: nix copy median ${(n / 1000).toFixed(2)} s [${fmt(nix)}]`);
    console.log(`${compression}: load average ${load()}`);
    console.log(`${compression}: ratio ours/nix = ${(o / n).toFixed(2)} (fsync), ${(of / n).toFixed(2)} (no fsync); target <= ${TARGET} ${o / n <= TARGET ? '(ok)' : '(OVER)'}`);
  }
} finally {
  rmSync(work, { recursive: true, force: true });
}
