// dumpNar against `nix-store --dump` on the same tree, both written to /dev/null.
//   node bench/dump.ts [--runs 5] [--mb 300] [--work DIR]
import { closeSync, createWriteStream, mkdtempSync, openSync, rmSync, writeSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { finished, pipeline } from 'node:stream/promises';
import { dumpNar } from '../src/nar-dump.ts';
import { flag, loadAverage, makeTree, mb, medians, option, sh, timeFn, timeShell, type Timing } from './lib.ts';

const runs = flag('runs', 5);
const work = mkdtempSync(join(option('work', tmpdir()), 'nar-bench-dump-'));
try {
  const tree = join(work, 'tree');
  const bytes = makeTree(tree, flag('mb', 300) * 1e6);
  console.log(`tree of ${mb(bytes)} file data (load ${loadAverage()})`);
  // Warm the page cache so both sides read from memory.
  sh(`nix-store --dump '${tree}' > /dev/null`);
  const direct: Timing[] = [];
  const piped: Timing[] = [];
  const nix: Timing[] = [];
  const devNull = openSync('/dev/null', 'w');
  // Interleave the three so background load affects all alike.
  for (let i = 0; i < runs; i++) {
    // Like nix-store: each chunk written straight to /dev/null.
    direct.push(
      await timeFn(async () => {
        // 'data' events, not for-await: async iteration concatenates buffered chunks (a copy).
        const stream = dumpNar(tree);
        stream.on('data', (chunk: Buffer) => writeSync(devNull, chunk));
        await finished(stream);
      }),
    );
    // The usual stream use: pipeline into an fs.WriteStream (thread-pool writes).
    piped.push(await timeFn(() => pipeline(dumpNar(tree), createWriteStream('/dev/null'))));
    nix.push(timeShell(`nix-store --dump '${tree}' > /dev/null`));
  }
  closeSync(devNull);
  const n = medians(nix);
  const show = (name: string, t: Timing): void =>
    console.log(`${name.padEnd(34)} median wall ${t.wall.toFixed(3)} s (${(bytes / 1e6 / t.wall).toFixed(0)} MB/s), cpu ${t.cpu.toFixed(3)} s; ratio to Nix: wall ${(t.wall / n.wall).toFixed(2)}, cpu ${(t.cpu / n.cpu).toFixed(2)}`);
  show('nix-store --dump > /dev/null', n);
  show('dumpNar -> writeSync(/dev/null)', medians(direct));
  show('dumpNar -> pipeline(WriteStream)', medians(piped));
  console.log(`target: ratio <= 1.2; load ${loadAverage()}`);
} finally {
  rmSync(work, { recursive: true, force: true });
}
