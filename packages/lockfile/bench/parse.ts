// Benchmark: parseLockfile on the largest real lockfile (floxai-large, 220 KB).
// Run: node bench/parse.ts   (Node ≥ 22.18 strips the types)
// Prints medians of several timed runs after warm-up, with JSON.parse alone on
// the same bytes as the baseline. Target: median ≤ 5 ms.
// Wall-clock is what the target is about; CPU time (user+system of this
// process) is printed too because it stays honest on a loaded machine.
import { readFileSync } from 'node:fs';
import { loadavg } from 'node:os';
import { parseLockfile } from '../src/index.ts';

const bytes = readFileSync(new URL('../test/fixtures/lockfiles/floxai-large.lock.json', import.meta.url));
const text = bytes.toString('utf8');
const WARMUP = 200;
const RUNS = 11;
const PER_RUN = 50;

interface Figures { wall: number; cpu: number; wallMin: number; wallMax: number }

function measure(fn: () => unknown): Figures {
  for (let i = 0; i < WARMUP; i++) fn();
  const wall: number[] = [];
  const cpu: number[] = [];
  for (let r = 0; r < RUNS; r++) {
    const cpuStart = process.cpuUsage();
    const start = process.hrtime.bigint();
    for (let i = 0; i < PER_RUN; i++) fn();
    wall.push(Number(process.hrtime.bigint() - start) / 1e6 / PER_RUN);
    const used = process.cpuUsage(cpuStart);
    cpu.push((used.user + used.system) / 1e3 / PER_RUN);
  }
  const median = (xs: number[]): number => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)]!;
  return { wall: median(wall), cpu: median(cpu), wallMin: Math.min(...wall), wallMax: Math.max(...wall) };
}

const show = (f: Figures, base?: Figures): string =>
  `wall median ${f.wall.toFixed(3)} ms (min ${f.wallMin.toFixed(3)}, max ${f.wallMax.toFixed(3)}), cpu median ${f.cpu.toFixed(3)} ms` +
  (base === undefined ? '' : `; ratio to JSON.parse: wall ${(f.wall / base.wall).toFixed(2)}×, cpu ${(f.cpu / base.cpu).toFixed(2)}×`);

const baseline = measure(() => JSON.parse(text));
const fromBytes = measure(() => parseLockfile(bytes));
const fromText = measure(() => parseLockfile(text));

console.log(`floxai-large.lock.json: ${bytes.byteLength} bytes; ${RUNS} runs × ${PER_RUN} parses after ${WARMUP} warm-up; node ${process.version}; load average ${loadavg().map((l) => l.toFixed(2)).join(' ')}`);
console.log(`JSON.parse (baseline)   ${show(baseline)}`);
console.log(`parseLockfile(bytes)    ${show(fromBytes, baseline)}  [UTF-8 decode + JSON + zod + sha256]`);
console.log(`parseLockfile(string)   ${show(fromText, baseline)}`);
console.log(`target median ≤ 5 ms (bytes, wall): ${fromBytes.wall <= 5 ? 'met' : 'NOT met'}`);
