/** Median of a sample (ms). */
export function median(values: readonly number[]): number {
  const sorted = [...values].sort((a, b) => a - b);
  const mid = sorted.length >> 1;
  return sorted.length % 2 === 1 ? (sorted[mid] as number) : ((sorted[mid - 1] as number) + (sorted[mid] as number)) / 2;
}

export function fmt(ms: number): string {
  return `${ms.toFixed(2)} ms`;
}

/**
 * A 95% interval for median(subject) − median(baseline), by resampling whole rounds with
 * replacement (sample i of each kind was taken in the same round, so a round stays a pair), 2,000
 * times, with a fixed seed: the same samples always give the same interval. NaN when the samples
 * are not paired.
 */
export function overheadInterval(subject: readonly number[], baseline: readonly number[]): [number, number] {
  const n = subject.length;
  if (n === 0 || n !== baseline.length) return [Number.NaN, Number.NaN];
  let seed = 0x9e3779b9;
  // mulberry32: small, fast and good enough to pick rounds.
  const random = (): number => {
    seed = (seed + 0x6d2b79f5) | 0;
    let t = Math.imul(seed ^ (seed >>> 15), 1 | seed);
    t = (t + Math.imul(t ^ (t >>> 7), 61 | t)) ^ t;
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
  const estimates: number[] = [];
  const s = new Array<number>(n);
  const b = new Array<number>(n);
  for (let r = 0; r < 2000; r++) {
    for (let i = 0; i < n; i++) {
      const k = Math.floor(random() * n);
      s[i] = subject[k] as number;
      b[i] = baseline[k] as number;
    }
    estimates.push(median(s) - median(b));
  }
  estimates.sort((x, y) => x - y);
  return [estimates[Math.floor(0.025 * estimates.length)] as number, estimates[Math.ceil(0.975 * estimates.length) - 1] as number];
}

/** One result line: medians, overhead and ratio against the baseline, and the target. */
export function report(name: string, subject: readonly number[], baseline: readonly number[], targetMs: number): boolean {
  const s = median(subject);
  const b = median(baseline);
  const overhead = s - b;
  // Rounds interleave the kinds, so sample i of each was taken side by side: the median of the
  // per-round differences is less sensitive to load drift on a shared machine than the
  // difference of the medians.
  const paired = subject.length === baseline.length ? median(subject.map((v, i) => v - (baseline[i] as number))) : Number.NaN;
  const [low, high] = overheadInterval(subject, baseline);
  const ok = overhead <= targetMs;
  process.stdout.write(
    `${name.padEnd(34)} flox ${fmt(s).padStart(10)}  baseline ${fmt(b).padStart(10)}  overhead ${fmt(overhead).padStart(10)} (95% ${low.toFixed(1)}…${high.toFixed(1)})  ratio ${(s / b).toFixed(2)}x  target ≤ ${targetMs} ms  ${ok ? 'OK' : 'OVER'}  (n=${subject.length}; median of per-round differences ${fmt(paired)})\n`,
  );
  return ok;
}
