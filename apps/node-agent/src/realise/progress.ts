// Progress of every realise the agent runs, where operators look: a tally per flight (shared by the
// pods waiting on it and by the shim's socket request), the bytes-outstanding gauge, and
// rate-limited `realise progress` log lines. Pod Events are the prefetcher's (it knows the pods).
import { formatProgress, RealiseTally, Throttle, type ProgressSnapshot } from '@flox-k8s/progress';
import type { Logger } from '../log.ts';
import { flightKey } from './coordinator.ts';
import type { ClosureRealiser, RealiseJob, RealiseProgressEvent } from './types.ts';

export class RealiseProgress {
  readonly #tallies = new Map<string, { job: RealiseJob; tally: RealiseTally }>();
  readonly #throttle: Throttle;
  readonly #log: Logger;

  constructor(options: { intervalMs: number; log: Logger; now?: () => number }) {
    this.#throttle = new Throttle(options.intervalMs, options.now);
    this.#log = options.log;
  }

  /**
   * `realiser`, with each realise tallied from its progress events. The coordinator calls it once
   * per flight, so one tally serves every caller of the same closure.
   */
  track(realiser: ClosureRealiser): ClosureRealiser {
    return {
      get storeRoot() {
        return realiser.storeRoot;
      },
      realise: async (job, options) => {
        const key = flightKey(job);
        const tally = new RealiseTally();
        this.#tallies.set(key, { job, tally });
        try {
          return await realiser.realise(job, {
            ...options,
            onProgress: (event) => {
              this.#observe(tally, event);
              if (tally.snapshot().pathsTotal > 0) this.#logProgress(key, job, tally);
              options.onProgress(event);
            },
          });
        } finally {
          const last = tally.snapshot();
          if (last.pathsTotal > 0) this.#log.info('realise progress', { environment: job.environment, digest: job.digest, final: true, ...last, line: formatProgress(last) });
          this.#tallies.delete(key);
          this.#throttle.forget(key);
        }
      },
    };
  }

  /** Where the realise of `job` stands; undefined when none runs. */
  snapshot(job: RealiseJob): ProgressSnapshot | undefined {
    return this.#tallies.get(flightKey(job))?.tally.snapshot();
  }

  /** NAR bytes every running realise still has to fetch (`flox_agent_realise_bytes_outstanding`). */
  bytesOutstanding(): number {
    let sum = 0;
    for (const { tally } of this.#tallies.values()) sum += tally.bytesOutstanding;
    return sum;
  }

  #observe(tally: RealiseTally, event: RealiseProgressEvent): void {
    if (event.phase === 'resolve') tally.plan(event.totalPaths ?? 0, event.totalBytes ?? 0);
    else if (event.storePath === undefined) return;
    else if (event.phase === 'fetch') tally.pathBytes(event.storePath, event.bytes ?? 0, event.totalBytes);
    else if (event.phase === 'unpack') tally.pathDone(event.storePath, event.totalBytes);
    else if (event.phase === 'present') tally.pathDone(event.storePath);
  }

  #logProgress(key: string, job: RealiseJob, tally: RealiseTally): void {
    if (!this.#throttle.ready(key)) return;
    const snapshot = tally.snapshot();
    this.#log.info('realise progress', { environment: job.environment, digest: job.digest, ...snapshot, line: formatProgress(snapshot) });
  }
}
