/** Median of a sample (ms). */
export function median(values: readonly number[]): number {
  const sorted = [...values].sort((a, b) => a - b);
  const mid = sorted.length >> 1;
  return sorted.length % 2 === 1 ? (sorted[mid] as number) : ((sorted[mid - 1] as number) + (sorted[mid] as number)) / 2;
}

export function fmt(ms: number): string {
  return `${ms.toFixed(2)} ms`;
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
  const ok = overhead <= targetMs;
  process.stdout.write(
    `${name.padEnd(34)} flox ${fmt(s).padStart(10)}  baseline ${fmt(b).padStart(10)}  overhead ${fmt(overhead).padStart(10)}  ratio ${(s / b).toFixed(2)}x  target ≤ ${targetMs} ms  ${ok ? 'OK' : 'OVER'}  (n=${subject.length}; median of per-round differences ${fmt(paired)})\n`,
  );
  return ok;
}
