// GC over a store of 20 000 paths: three quarters reachable from leases/pins,
// the rest garbage. Target ≤ 2 s.
// Run: node --conditions=@flox-k8s/source bench/gc.ts [store parent dir, default /dev/shm] [runs, default 3]
// Baseline in the same run: creating and unlinking as many files as GC must
// remove (the filesystem's floor; ext4 with `discard` makes unlink slow).
import { mkdirSync, mkdtempSync, readdirSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { Store } from '../src/index.ts';
import { median, writeSyntheticStore } from './synthetic.ts';

const PATHS = 20_000;
const BASE = 1_000; // shared by every environment (glibc and friends)
const ENV_SIZE = 190;
const RUNS = Number(process.argv[3] ?? 3);
const TARGET_MS = 2_000;

// Path i < BASE references i-1; every environment path references the one
// before it in its environment plus two base paths; the last path of each
// environment is its root.
const references = (i: number): number[] => {
  if (i < BASE) return i === 0 ? [] : [i - 1];
  const offset = (i - BASE) % ENV_SIZE;
  return [...(offset === 0 ? [] : [i - 1]), i % BASE, (i * 7) % BASE];
};

const parent = process.argv[2] ?? '/dev/shm';
const times: number[] = [];
const floors: number[] = [];
let last = { deleted: 0, freedBytes: 0 };
for (let run = 0; run < RUNS; run++) {
  const root = mkdtempSync(join(parent, 'flox-bench-gc-'));
  try {
    const paths = writeSyntheticStore(root, PATHS, references);
    const store = await Store.open(root);
    const envRoots: string[] = [];
    for (let start = BASE; start + ENV_SIZE - 1 < PATHS; start += ENV_SIZE) envRoots.push(paths[start + ENV_SIZE - 1] as string);
    // Even environments are in use (leases), every fourth one is pinned; the rest is garbage.
    envRoots.forEach((r, k) => {
      if (k % 2 === 0) store.lease(`pod-${k}`, [r], 3_600_000);
      else if (k % 4 === 1) store.pin(`env-${k}`, [r]);
    });
    const t0 = performance.now();
    const result = await store.gc();
    times.push(performance.now() - t0);
    last = { deleted: result.deleted.length, freedBytes: result.freedBytes };
    // Floor: unlinking the same number of files a deletion needs (file, dir entry, metadata) with one rm -r.
    const floorDir = join(root, 'floor');
    mkdirSync(floorDir);
    for (let i = 0; i < result.deleted.length; i++) {
      mkdirSync(join(floorDir, `d${i}`));
      writeFileSync(join(floorDir, `d${i}`, 'file'), 'x');
      writeFileSync(join(floorDir, `m${i}`), 'x');
    }
    const t1 = performance.now();
    rmSync(floorDir, { recursive: true });
    floors.push(performance.now() - t1);
    const left = readdirSync(join(root, 'store')).length;
    if (left + result.deleted.length !== PATHS) throw new Error(`store has ${left} paths after deleting ${result.deleted.length}`);
  } finally {
    rmSync(root, { recursive: true, force: true });
  }
}
const m = median(times);
console.log(`gc over ${PATHS} paths (${last.deleted} deleted, ${last.freedBytes} bytes freed), ${RUNS} runs: ${times.map((t) => t.toFixed(0)).join(', ')} ms`);
console.log(`  store under ${parent}`);
console.log(`  median ${m.toFixed(0)} ms; ratio vs ${TARGET_MS} ms target: ${(m / TARGET_MS).toFixed(2)}x ${m <= TARGET_MS ? '(ok)' : '(OVER)'}`);
console.log(`  filesystem floor (rm -r of ${last.deleted} dirs + files + metadata files): median ${median(floors).toFixed(0)} ms; gc / floor = ${(m / median(floors)).toFixed(2)}x`);
