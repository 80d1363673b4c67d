import type { ProgressSnapshot } from './tally.ts';

/** `310 MB`, `1.2 MB`, `0 MB`: decimal megabytes, as people read them in events and logs. */
export function formatMegabytes(bytes: number): string {
  const mb = bytes / 1e6;
  if (mb === 0) return '0 MB';
  return `${mb >= 10 ? Math.round(mb) : mb.toFixed(1)} MB`;
}

/** `4.2 s` */
export function formatSeconds(ms: number): string {
  return `${(ms / 1000).toFixed(1)} s`;
}

/**
 * One line: `42/120 paths, 120/310 MB (39%), 12.3 MB/s` (the rate over the whole realise so
 * far; left out in its first second). Before the closure is resolved: `resolving the closure`.
 */
export function formatProgress(snapshot: ProgressSnapshot): string {
  if (!snapshot.planned) return 'resolving the closure';
  const { pathsDone, pathsTotal, bytesDone, bytesTotal, elapsedMs } = snapshot;
  const percent = bytesTotal === 0 ? 100 : Math.floor((bytesDone / bytesTotal) * 100);
  const mb = (n: number): string => formatMegabytes(n).slice(0, -' MB'.length);
  const parts = `${pathsDone}/${pathsTotal} paths, ${mb(bytesDone)}/${formatMegabytes(bytesTotal)} (${percent}%)`;
  if (elapsedMs < 1000) return parts;
  return `${parts}, ${(bytesDone / 1e6 / (elapsedMs / 1000)).toFixed(1)} MB/s`;
}
