import { createHash } from 'node:crypto';
import { RealiseCancelledError } from '../errors.ts';
import type { ClosureRealiser, RealiseJob, RealiseOutcome, RealiseProgressEvent } from './types.ts';

export interface RealiseSubscriber {
  /** Aborting detaches this caller; the realise stops only when every caller has gone. */
  signal?: AbortSignal;
  onProgress?: (event: RealiseProgressEvent) => void;
  /** Who asked first names the flight in metrics. */
  origin?: 'prefetch' | 'socket';
}

interface Flight {
  job: RealiseJob;
  controller: AbortController;
  subscribers: Set<RealiseSubscriber>;
  promise: Promise<RealiseOutcome>;
  startedAt: number;
  origin: 'prefetch' | 'socket';
}

export interface FlightReport {
  job: RealiseJob;
  origin: 'prefetch' | 'socket';
  outcome?: RealiseOutcome;
  error?: unknown;
  elapsedMs: number;
}

/** Identity of a realise: the same lockfile and the same store paths give the same flight. */
export function flightKey(job: RealiseJob): string {
  const paths = [...new Set(job.storePaths)].sort();
  return createHash('sha256').update(`${job.digest}\n${paths.join('\n')}`).digest('hex');
}

/**
 * Single-flight across pods and socket clients: concurrent requests for the same closure share one
 * realise; each caller gets the progress and the result, and may leave early without stopping the
 * others. (The store is single-flight per path as well; this level also shares progress and timing.)
 */
export class RealiseCoordinator {
  readonly #realiser: ClosureRealiser;
  readonly #flights = new Map<string, Flight>();
  readonly #onSettled: (report: FlightReport) => void;
  readonly #shutdown = new AbortController();

  constructor(realiser: ClosureRealiser, onSettled: (report: FlightReport) => void = () => {}) {
    this.#realiser = realiser;
    this.#onSettled = onSettled;
  }

  get storeRoot(): string {
    return this.#realiser.storeRoot;
  }

  /** Number of distinct realises running now. */
  get inFlight(): number {
    return this.#flights.size;
  }

  realise(job: RealiseJob, subscriber: RealiseSubscriber = {}): Promise<RealiseOutcome> {
    if (this.#shutdown.signal.aborted) return Promise.reject(new RealiseCancelledError('the agent is shutting down'));
    if (subscriber.signal?.aborted) return Promise.reject(new RealiseCancelledError(`realise of ${job.environment} cancelled by its caller`));
    const key = flightKey(job);
    const flight = this.#flights.get(key) ?? this.#start(key, job, subscriber.origin ?? 'socket');
    flight.subscribers.add(subscriber);
    return new Promise<RealiseOutcome>((resolve, reject) => {
      const onAbort = (): void => {
        flight.subscribers.delete(subscriber);
        reject(new RealiseCancelledError(`realise of ${job.environment} cancelled by its caller`));
        if (flight.subscribers.size === 0) flight.controller.abort(new RealiseCancelledError(`realise of ${job.environment} cancelled: no caller left`));
      };
      subscriber.signal?.addEventListener('abort', onAbort, { once: true });
      flight.promise.then(
        (outcome) => {
          subscriber.signal?.removeEventListener('abort', onAbort);
          resolve(outcome);
        },
        (error: unknown) => {
          subscriber.signal?.removeEventListener('abort', onAbort);
          reject(error);
        },
      );
    });
  }

  /** Cancel every running realise (agent shutdown). */
  close(): void {
    this.#shutdown.abort(new RealiseCancelledError('the agent is shutting down'));
  }

  #start(key: string, job: RealiseJob, origin: 'prefetch' | 'socket'): Flight {
    const controller = new AbortController();
    const signal = AbortSignal.any([controller.signal, this.#shutdown.signal]);
    const subscribers = new Set<RealiseSubscriber>();
    const startedAt = performance.now();
    const onProgress = (event: RealiseProgressEvent): void => {
      for (const s of subscribers) s.onProgress?.(event);
    };
    const promise = this.#realiser.realise(job, { signal, onProgress }).finally(() => {
      this.#flights.delete(key);
    });
    const flight: Flight = { job, controller, subscribers, promise, startedAt, origin };
    this.#flights.set(key, flight);
    promise.then(
      (outcome) => this.#onSettled({ job, origin, outcome, elapsedMs: performance.now() - startedAt }),
      (error: unknown) => this.#onSettled({ job, origin, error, elapsedMs: performance.now() - startedAt }),
    );
    return flight;
  }
}
