// dumpNar / dumpNarSync against `nix-store --dump` on the same tree. Sink: /dev/null on every side
// (nix-store's stdout redirected to /dev/null; ours writeSync to an fd of /dev/null, or a WriteStream on it).
//   node bench/dump.ts [--runs 5] [--mb 300] [--tree closure|usr] [--work DIR]
import { closeSync, createWriteStream, mkdtempSync, openSync, rmSync, writeFileSync, writeSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { finished, pipeline } from 'node:stream/promises';
import { dumpNar, dumpNarSync } from '../src/nar-dump.ts';
import { flag, loadAverage, makeTree, median, medians, option, sh, timeFn, timeShell, treeDistribution, type Timing } from './lib.ts';

const runs = flag('runs', 5);
const work = mkdtempSync(join(option('work', tmpdir()), 'nar-bench-dump-'));
try {
  const tree = join(work, 'tree');
  makeTree(tree, flag('mb', 300) * 1e6);
  console.log(`tree: ${treeDistribution(tree)}`);
  console.log(`sink: /dev/null for every contender; load ${loadAverage()}`);
  // Warm the page cache so every side reads from memory.
  sh(`nix-store --dump '${tree}' > /dev/null`);
  const empty = join(work, 'empty');
  writeFileSync(empty, '');
  const results: Record<string, Timing[]> = { nix: [], startup: [], sync: [], direct: [], piped: [] };
  const devNull = openSync('/dev/null', 'w');
  // Interleaved so that background load affects every contender alike.
  for (let i = 0; i < runs; i++) {
    results.nix!.push(timeShell(`nix-store --dump '${tree}' > /dev/null`));
    // What nix-store's figure includes besides dumping: starting the process (ours is timed in-process).
    results.startup!.push(timeShell(`nix-store --dump '${empty}' > /dev/null`));
    results.sync!.push(await timeFn(() => dumpNarSync(tree, (chunk) => writeSync(devNull, chunk))));
    // Like nix-store: each chunk written straight to /dev/null ('data' events: async iteration would concatenate).
    results.direct!.push(
      await timeFn(async () => {
        const stream = dumpNar(tree);
        stream.on('data', (chunk: Buffer) => writeSync(devNull, chunk));
        await finished(stream);
      }),
    );
    // The usual stream use: pipeline into an fs.WriteStream (thread-pool writes).
    results.piped!.push(await timeFn(() => pipeline(dumpNar(tree), createWriteStream('/dev/null'))));
  }
  closeSync(devNull);
  const n = medians(results.nix!);
  const show = (name: string, key: string): void => {
    const ts = results[key]!;
    const t = medians(ts);
    const perRun = median(ts.map((x, i) => x.wall / results.nix![i]!.wall));
    console.log(
      `${name.padEnd(40)} median wall ${t.wall.toFixed(3)} s, cpu ${t.cpu.toFixed(3)} s; ratio to Nix: wall ${(t.wall / n.wall).toFixed(2)} (per-run median ${perRun.toFixed(2)}), cpu ${(t.cpu / n.cpu).toFixed(2)}`,
    );
  };
  show('nix-store --dump > /dev/null', 'nix');
  show('nix-store --dump EMPTY-FILE > /dev/null', 'startup');
  show('dumpNarSync -> writeSync(/dev/null)', 'sync');
  show('dumpNar -> writeSync(/dev/null)', 'direct');
  show('dumpNar -> pipeline(WriteStream)', 'piped');
  console.log(`target: ratio <= 1.2; load ${loadAverage()}`);
} finally {
  rmSync(work, { recursive: true, force: true });
}
