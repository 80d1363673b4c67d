import type { ClosureRealiser, RealiseJob, RealiseOutcome, RealiseProgressEvent } from './types.ts';

/**
 * A test double for the store (the real store is exercised in the e2e suite): each realise waits
 * until the test releases it, emits progress, and honours the abort signal.
 */
export function scriptedRealiser(storeRoot = '/var/lib/flox-k8s'): ClosureRealiser & {
  calls: RealiseJob[];
  aborted: RealiseJob[];
  release(outcome?: Partial<RealiseOutcome> | Error): void;
  progress(event: RealiseProgressEvent): void;
} {
  const waiting: Array<{ job: RealiseJob; resolve: (o: RealiseOutcome) => void; reject: (e: unknown) => void; onProgress: (e: RealiseProgressEvent) => void }> = [];
  const realiser = {
    storeRoot,
    calls: [] as RealiseJob[],
    aborted: [] as RealiseJob[],
    realise(job: RealiseJob, { signal, onProgress }: { signal: AbortSignal; onProgress: (e: RealiseProgressEvent) => void }): Promise<RealiseOutcome> {
      realiser.calls.push(job);
      return new Promise<RealiseOutcome>((resolve, reject) => {
        const entry = { job, resolve, reject, onProgress };
        waiting.push(entry);
        signal.addEventListener('abort', () => {
          realiser.aborted.push(job);
          waiting.splice(waiting.indexOf(entry), 1);
          reject(signal.reason);
        }, { once: true });
      });
    },
    release(outcome: Partial<RealiseOutcome> | Error = {}): void {
      for (const w of waiting.splice(0)) {
        if (outcome instanceof Error) w.reject(outcome);
        else {
          const closure = [...w.job.storePaths].sort();
          w.resolve({ closure, fetched: closure, present: [], bytesDownloaded: 1000, narBytes: 2000, durations: { resolve: 1, fetch: 2 }, bytesByCache: {}, ...outcome });
        }
      }
    },
    progress(event: RealiseProgressEvent): void {
      for (const w of waiting) w.onProgress(event);
    },
  };
  return realiser;
}
