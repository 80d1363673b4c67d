// dumpNar / dumpNarSync against `nix-store --dump` on the same tree. Sink: /dev/null on every side
// (nix-store's stdout redirected to /dev/null; ours writeSync to an fd of /dev/null, or a WriteStream on it).
//   node --conditions=@flox-k8s/source bench/dump.ts [--runs 7] [--mb 250] [--tree closure|usr] [--work DIR]
//
// Each of our contenders runs in a process of its own, started once and asked for one timed run at a
// time (interleaved with nix-store's runs), so that no contender inherits another's heap: whatever one
// left for the GC and malloc to clean up changed the next one's page faults by ±20k per run (~40 ms)
// when they shared a process. Nor do they ever fork: a fork write-protects every page of the
// forking process, and the next run then faults on each page it writes (1.5-2.3 us per 4 KiB here).
//
// The two floors bound what any stream can do: the same walk with every file read into fresh buffers
// (what a Readable must hand out: the consumer owns them) or into one reused buffer, with no NAR
// framing and no stream at all.
import { fork } from 'node:child_process';
import { closeSync, createWriteStream, lstatSync, mkdtempSync, openSync, readSync, readdirSync, readlinkSync, rmSync, writeFileSync, writeSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { finished, pipeline } from 'node:stream/promises';
import { nixShellCommand } from '@flox-k8s/nix-fixtures';
import { dumpNarByteStream } from '../src/nar-dump-bytes.ts';
import { STREAM_CHUNK, dumpNar, dumpNarSync } from '../src/nar-dump.ts';
import { ShellTimer, flag, loadAverage, makeTree, median, medians, option, sh, timeFn, treeDistribution, type Timing } from './lib.ts';

/**
 * Walk the tree as dumpNar does and read every file straight into chunks of STREAM_CHUNK bytes from
 * `next()`, each written to `sink` once full: dumpNar's reads and buffers without the NAR and the stream.
 */
function readTree(root: string, next: () => Buffer, sink: number): void {
  let chunk = next();
  let pos = 0;
  const visit = (path: string): void => {
    const st = lstatSync(path);
    if (st.isSymbolicLink()) readlinkSync(path, { encoding: 'buffer' });
    else if (st.isDirectory()) {
      const names = readdirSync(path, { encoding: 'buffer' });
      names.sort(Buffer.compare);
      for (const name of names) visit(`${path}/${name.toString()}`);
    } else if (st.size > 0) {
      const fd = openSync(path, 'r');
      for (let done = 0; done < st.size; ) {
        if (pos === chunk.length) {
          writeSync(sink, chunk);
          chunk = next();
          pos = 0;
        }
        const got = readSync(fd, chunk, pos, Math.min(chunk.length - pos, st.size - done), done);
        pos += got;
        done += got;
      }
      closeSync(fd);
    }
  };
  visit(root);
  writeSync(sink, chunk, 0, pos);
}

const contenders: Record<string, { label: string; run: (tree: string, devNull: number) => Promise<void> | void }> = {
  sync: { label: 'dumpNarSync -> writeSync(/dev/null)', run: (tree, devNull) => dumpNarSync(tree, (chunk) => writeSync(devNull, chunk)) },
  // Like nix-store: each chunk written straight to /dev/null ('data' events: async iteration would concatenate).
  direct: {
    label: 'dumpNar -> writeSync(/dev/null)',
    run: async (tree, devNull) => {
      const stream = dumpNar(tree);
      stream.on('data', (chunk: Buffer) => writeSync(devNull, chunk));
      await finished(stream);
    },
  },
  // The byte stream read with a BYOB reader into one reused buffer, each read written to /dev/null.
  byob: {
    label: 'dumpNarByteStream (BYOB, 1 reused MiB) -> writeSync',
    run: async (tree, devNull) => {
      const reader = dumpNarByteStream(tree).getReader({ mode: 'byob' });
      let buffer = new ArrayBuffer(STREAM_CHUNK);
      for (;;) {
        const { value, done } = await reader.read(new Uint8Array(buffer));
        if (value !== undefined) {
          writeSync(devNull, value);
          buffer = value.buffer as ArrayBuffer;
        }
        if (done) return;
      }
    },
  },
  // The usual stream use: pipeline into an fs.WriteStream (thread-pool writes).
  piped: { label: 'dumpNar -> pipeline(WriteStream)', run: (tree) => pipeline(dumpNar(tree), createWriteStream('/dev/null')) },
  floorFresh: { label: 'floor: read into fresh chunks, no NAR', run: (tree, devNull) => readTree(tree, () => Buffer.allocUnsafeSlow(STREAM_CHUNK), devNull) },
  floorReused: {
    label: 'floor: read into one reused chunk, no NAR',
    run: (tree, devNull) => {
      const chunk = Buffer.allocUnsafeSlow(STREAM_CHUNK);
      readTree(tree, () => chunk, devNull);
    },
  },
};

const worker = option('worker', '');
if (worker !== '') {
  // A contender's process: one timed run per message from the parent.
  const tree = option('path', '');
  const devNull = openSync('/dev/null', 'w');
  const contender = contenders[worker]!;
  process.on('message', () => {
    const faults = process.resourceUsage().minorPageFault;
    void timeFn(() => contender.run(tree, devNull)).then((t) => process.send!({ ...t, faults: process.resourceUsage().minorPageFault - faults }));
  });
} else {
  await main();
}

async function main(): Promise<void> {
  const runs = flag('runs', 7);
  const work = mkdtempSync(join(option('work', tmpdir()), 'nar-bench-dump-'));
  const timer = new ShellTimer();
  const children = Object.keys(contenders).map((name) => ({ name, child: fork(process.argv[1]!, ['--worker', name, '--path', join(work, 'tree')]) }));
  try {
    const tree = join(work, 'tree');
    makeTree(tree, flag('mb', 250) * 1e6);
    console.log(`tree: ${treeDistribution(tree)}`);
    console.log(`sink: /dev/null for every contender; load ${loadAverage()}`);
    // Warm the page cache so every side reads from memory.
    sh(`${nixShellCommand('nix-store', ['--dump', tree])} > /dev/null`);
    const empty = join(work, 'empty');
    writeFileSync(empty, '');
    type Run = Timing & { faults?: number };
    const results: Record<string, Run[]> = { nix: [], startup: [], ...Object.fromEntries(children.map(({ name }) => [name, []])) };
    const runIn = (child: (typeof children)[number]['child']): Promise<Run> =>
      new Promise((resolve, reject) => {
        // A contender that fails crashes its process (an unhandled rejection).
        const exited = (code: number | null): void => reject(new Error(`a contender's process exited (${code}) during its run`));
        child.once('exit', exited);
        child.once('message', (t) => {
          child.off('exit', exited);
          resolve(t as Run);
        });
        child.send('run');
      });
    // Interleaved so that background load affects every contender alike.
    for (let i = 0; i < runs; i++) {
      results.nix!.push(await timer.time(`${nixShellCommand('nix-store', ['--dump', tree])} > /dev/null`));
      // What nix-store's figure includes besides dumping: starting the process (ours is timed in-process).
      results.startup!.push(await timer.time(`${nixShellCommand('nix-store', ['--dump', empty])} > /dev/null`));
      for (const { name, child } of children) results[name]!.push(await runIn(child));
    }
    const n = medians(results.nix!);
    const show = (name: string, key: string): void => {
      const ts = results[key]!;
      const t = medians(ts);
      const perRun = median(ts.map((x, i) => x.wall / results.nix![i]!.wall));
      const faults = ts[0]?.faults === undefined ? '' : `; page faults ${median(ts.map((x) => x.faults!))}`;
      console.log(
        `${name.padEnd(42)} median wall ${t.wall.toFixed(3)} s, cpu ${t.cpu.toFixed(3)} s; ratio to Nix: wall ${(t.wall / n.wall).toFixed(2)} (per-run median ${perRun.toFixed(2)}), cpu ${(t.cpu / n.cpu).toFixed(2)}${faults}`,
      );
    };
    show('nix-store --dump > /dev/null', 'nix');
    show('nix-store --dump EMPTY-FILE > /dev/null', 'startup');
    for (const { name } of children) show(contenders[name]!.label, name);
    console.log(`runs: ${runs}; target: ratio <= 1.2; load ${loadAverage()}`);
  } finally {
    for (const { child } of children) child.kill();
    timer.close();
    rmSync(work, { recursive: true, force: true });
  }
}
