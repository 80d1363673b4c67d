// dumpNar against `nix-store --dump` on the same tree, both written to /dev/null.
//   node bench/dump.ts [--runs 5] [--mb 300] [--work DIR]
import { createWriteStream, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { pipeline } from 'node:stream/promises';
import { dumpNar } from '../src/nar-dump.ts';
import { flag, loadAverage, makeTree, mb, median, option, sh, timeRuns } from './lib.ts';

const runs = flag('runs', 5);
const work = mkdtempSync(join(option('work', tmpdir()), 'nar-bench-dump-'));
try {
  const tree = join(work, 'tree');
  const bytes = makeTree(tree, flag('mb', 300) * 1e6);
  console.log(`tree of ${mb(bytes)} file data (load ${loadAverage()})`);
  // Warm the page cache so both sides read from memory.
  sh(`nix-store --dump '${tree}' > /dev/null`);
  const ours: number[] = [];
  const nix: number[] = [];
  // Interleave the two so background load affects both alike.
  for (let i = 0; i < runs; i++) {
    ours.push(...(await timeRuns(1, () => pipeline(dumpNar(tree), createWriteStream('/dev/null')))));
    nix.push(...(await timeRuns(1, () => sh(`nix-store --dump '${tree}' > /dev/null`))));
  }
  const o = median(ours);
  const n = median(nix);
  console.log(`dumpNar: median ${o.toFixed(2)} s (${(bytes / 1e6 / o).toFixed(0)} MB/s); nix-store --dump: median ${n.toFixed(2)} s (${(bytes / 1e6 / n).toFixed(0)} MB/s)`);
  console.log(`ratio dumpNar / nix-store --dump = ${(o / n).toFixed(2)} (target <= 1.2); load ${loadAverage()}`);
} finally {
  rmSync(work, { recursive: true, force: true });
}
