import { untilAborted } from './phases.ts';

/**
 * One in-process job per key, shared by every caller that wants it. The job
 * gets its own AbortSignal that fires only when every caller has given up, so
 * one impatient caller cannot cancel a download another caller still needs.
 */
export class SharedJob<T> {
  readonly promise: Promise<T>;
  readonly #controller = new AbortController();
  #waiters = 0;

  constructor(run: (signal: AbortSignal) => Promise<T>) {
    this.promise = run(this.#controller.signal);
    // Rejections are observed through join(); never let an abandoned job crash the process.
    this.promise.catch(() => undefined);
  }

  /** True once every caller gave up: a new caller must start a fresh job. */
  get abandoned(): boolean {
    return this.#controller.signal.aborted;
  }

  /** Waits for the job on behalf of one caller; leaving (abort) may cancel the job. */
  async join(signal: AbortSignal | undefined): Promise<T> {
    this.#waiters++;
    if (!signal) {
      try {
        return await this.promise;
      } finally {
        this.#waiters--;
      }
    }
    try {
      return await untilAborted(this.promise, signal, 'waiting for a realise job');
    } finally {
      if (--this.#waiters === 0 && signal.aborted) this.#controller.abort(signal.reason);
    }
  }
}

/** Map of running jobs; a key leaves the map when its job settles. */
export class SingleFlight<T> {
  readonly #jobs = new Map<string, SharedJob<T>>();

  get(key: string, run: (signal: AbortSignal) => Promise<T>): SharedJob<T> {
    let job = this.#jobs.get(key);
    if (!job || job.abandoned) {
      const created = new SharedJob(run);
      job = created;
      this.#jobs.set(key, created);
      const forget = (): void => {
        if (this.#jobs.get(key) === created) this.#jobs.delete(key);
      };
      void created.promise.then(forget, forget);
    }
    return job;
  }

  has(key: string): boolean {
    return this.#jobs.has(key);
  }

  keys(): IterableIterator<string> {
    return this.#jobs.keys();
  }
}
