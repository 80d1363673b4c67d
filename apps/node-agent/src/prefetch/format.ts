import { formatMegabytes, formatProgress, formatSeconds, type ProgressSnapshot } from '@flox-k8s/progress';

/** Message of the Normal event once a pod's environment is in the store. */
export function realisedMessage(environment: string, paths: number, bytesDownloaded: number, elapsedMs: number): string {
  return `Realised ${environment}: ${paths} paths, ${formatMegabytes(bytesDownloaded)} fetched in ${formatSeconds(elapsedMs)}`;
}

/** Message of the Warning event when the prefetch failed. */
export function failedMessage(environment: string, code: string, message: string): string {
  return `Realise of ${environment} failed (${code}): ${message}`;
}

/** Message of the first `FloxRealising` event: what must be fetched. */
export function realisingStartMessage(environment: string, snapshot: ProgressSnapshot): string {
  return `Realising ${environment}: ${snapshot.pathsTotal} paths, ${formatMegabytes(snapshot.bytesTotal)} to fetch`;
}

/** Message of the rate-limited `FloxRealising` events while it fetches. */
export function realisingMessage(environment: string, snapshot: ProgressSnapshot): string {
  return `Realising ${environment}: ${formatProgress(snapshot)}`;
}
