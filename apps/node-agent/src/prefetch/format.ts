/** `310 MB`, `1.2 MB`, `0 MB`: decimal megabytes, as users read them in events. */
export function formatMegabytes(bytes: number): string {
  const mb = bytes / 1e6;
  if (mb === 0) return '0 MB';
  return `${mb >= 10 ? Math.round(mb) : mb.toFixed(1)} MB`;
}

/** `4.2 s` */
export function formatSeconds(ms: number): string {
  return `${(ms / 1000).toFixed(1)} s`;
}

/** Message of the Normal event once a pod's environment is in the store. */
export function realisedMessage(environment: string, paths: number, bytesDownloaded: number, elapsedMs: number): string {
  return `Realised ${environment}: ${paths} paths, ${formatMegabytes(bytesDownloaded)} fetched in ${formatSeconds(elapsedMs)}`;
}

/** Message of the Warning event when the prefetch failed. */
export function failedMessage(environment: string, code: string, message: string): string {
  return `Realise of ${environment} failed (${code}): ${message}`;
}
