// Warm realise: every path of a 500-path closure is already valid. Target ≤ 20 ms.
// Run: node --conditions=@flox-k8s/source bench/warm-realise.ts
import { mkdtempSync, readdirSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Store } from '../src/index.ts';
import { median, writeSyntheticStore } from './synthetic.ts';

const PATHS = 500;
const RUNS = 30;
const TARGET_MS = 20;

const root = mkdtempSync(join(tmpdir(), 'flox-bench-warm-'));
try {
  // A closure shaped like a real one: each path references a few earlier ones; path 499 is the environment.
  const paths = writeSyntheticStore(root, PATHS, (i) => (i === PATHS - 1 ? Array.from({ length: 40 }, (_, k) => i - 1 - k) : [i - 1, Math.floor(i / 2), Math.floor(i / 3)].filter((j, k, a) => j >= 0 && j < i && a.indexOf(j) === k)));
  const top = paths[PATHS - 1] as string;
  const options = { caches: [], trustedKeys: [] };
  const fresh: number[] = [];
  const reused: number[] = [];
  const miss: number[] = [];
  const long = await Store.open(root);
  for (let i = 0; i < RUNS; i++) {
    // As a new process (the runc interposer) sees it: open + realise, no in-memory state.
    const t0 = performance.now();
    const store = await Store.open(root);
    const r = await store.realise([top], options);
    fresh.push(performance.now() - t0);
    if (r.closure.length !== PATHS || r.fetched.length !== 0) throw new Error(`unexpected closure ${r.closure.length}`);
    // As a long-lived agent sees it: the same Store object.
    const t1 = performance.now();
    await long.realise([top], options);
    reused.push(performance.now() - t1);
    // Closure index miss (paths present, this request never seen): walks 500 metadata records.
    for (const f of readdirSync(join(root, 'closures'))) rmSync(join(root, 'closures', f));
    const t2 = performance.now();
    await (await Store.open(root)).realise([top], options);
    miss.push(performance.now() - t2);
  }
  const m = median(fresh);
  console.log(`warm realise, ${PATHS}-path closure, ${RUNS} runs`);
  console.log(`  Store.open + realise (new process view): median ${m.toFixed(2)} ms`);
  console.log(`  realise on an open Store:                median ${median(reused).toFixed(2)} ms`);
  console.log(`  Store.open + realise, closure-index miss: median ${median(miss).toFixed(2)} ms`);
  console.log(`  ratio vs ${TARGET_MS} ms target: ${(m / TARGET_MS).toFixed(2)}x ${m <= TARGET_MS ? '(ok)' : '(OVER)'}`);
} finally {
  rmSync(root, { recursive: true, force: true });
}
