// How cheap is a warm fixture call? Baseline: spawning one Nix command
// (`nix-store --version`), the least a cache that asked Nix would pay.
// Run: node bench/warm-call.ts [small|large|wide]   (default small; the first call builds when uncached)
import { nixFixtures, nixLargeFixtures, nixWideFixtures, runNixSync } from '../src/index.ts';

const kinds = { small: () => nixFixtures(), large: () => nixLargeFixtures(), wide: () => nixWideFixtures() };
const kind = (process.argv[2] ?? 'small') as keyof typeof kinds;
const call = kinds[kind];
if (call === undefined) throw new Error(`usage: node bench/warm-call.ts [${Object.keys(kinds).join('|')}]`);

const runs = 15;
const median = (xs: number[]): number => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)] ?? NaN;

async function time(fn: () => unknown): Promise<number> {
  const start = performance.now();
  await fn();
  return performance.now() - start;
}

const cold = await time(call); // cold only if the cache directory is missing
const warm: number[] = [];
const baseline: number[] = [];
for (let i = 0; i < runs; i++) {
  warm.push(await time(call));
  baseline.push(await time(() => runNixSync('nix-store', ['--version'])));
}
console.log(`${kind}: first call (cold if uncached): ${(cold / 1000).toFixed(1)} s`);
console.log(`${kind}: warm call median ${median(warm).toFixed(2)} ms over ${runs} runs`);
console.log(`baseline nix-store --version: median ${median(baseline).toFixed(2)} ms`);
console.log(`ratio warm/baseline: ${(median(warm) / median(baseline)).toFixed(2)}`);
