// How cheap is a warm `nixFixtures()`? Baseline: spawning one Nix command
// (`nix-store --version`), the least a cache that asked Nix would pay.
// Run: node bench/warm-call.ts
import { nixFixtures, runNixSync } from '../src/index.ts';

const runs = 15;
const median = (xs: number[]): number => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)] ?? NaN;

async function time(fn: () => unknown): Promise<number> {
  const start = performance.now();
  await fn();
  return performance.now() - start;
}

const cold = await time(() => nixFixtures()); // cold only if the cache directory is missing
const warm: number[] = [];
const baseline: number[] = [];
for (let i = 0; i < runs; i++) {
  warm.push(await time(() => nixFixtures()));
  baseline.push(await time(() => runNixSync('nix-store', ['--version'])));
}
console.log(`first call (cold if uncached): ${cold.toFixed(1)} ms`);
console.log(`warm nixFixtures(): median ${median(warm).toFixed(2)} ms over ${runs} runs`);
console.log(`baseline nix-store --version: median ${median(baseline).toFixed(2)} ms`);
console.log(`ratio warm/baseline: ${(median(warm) / median(baseline)).toFixed(2)}`);
