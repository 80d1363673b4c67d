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
  /** Set while the flight runs with no caller: its grace period's timer. */
  grace?: NodeJS.Timeout | undefined;
}

/**
 * A flight's grace period, as it unfolds: `orphaned` (its last caller left; it keeps going),
 * `rejoined` (a caller came back, e.g. kubelet's retry), `completed` / `failed` (it ended with
 * nobody waiting: the retry finds the closure in the store), `expired` (nobody came back in
 * time: cancelled).
 */
export interface GraceEvent {
  type: 'orphaned' | 'rejoined' | 'completed' | 'failed' | 'expired';
  job: RealiseJob;
  /** Flights running with no caller now (after this event). */
  orphaned: number;
}

export interface RealiseCoordinatorOptions {
  /**
   * How long a realise keeps going after its last caller left (ms; 0 = cancel at once).
   * kubelet gives a container start ~2 minutes and then retries it: within the grace period
   * the retry joins the running fetch instead of starting it again from byte 0.
   */
  graceMs?: number;
  onGrace?: (event: GraceEvent) => void;
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
  readonly #graceMs: number;
  readonly #onGrace: (event: GraceEvent) => void;

  constructor(realiser: ClosureRealiser, onSettled: (report: FlightReport) => void = () => {}, options: RealiseCoordinatorOptions = {}) {
    this.#realiser = realiser;
    this.#onSettled = onSettled;
    this.#graceMs = options.graceMs ?? 0;
    this.#onGrace = options.onGrace ?? (() => {});
  }

  get storeRoot(): string {
    return this.#realiser.storeRoot;
  }

  /** Number of distinct realises running now. */
  get inFlight(): number {
    return this.#flights.size;
  }

  /** Realises running with no caller, within their grace period. */
  get orphaned(): number {
    let n = 0;
    for (const f of this.#flights.values()) if (f.grace !== undefined) n++;
    return n;
  }

  realise(job: RealiseJob, subscriber: RealiseSubscriber = {}): Promise<RealiseOutcome> {
    if (this.#shutdown.signal.aborted) return Promise.reject(new RealiseCancelledError('the agent is shutting down'));
    if (subscriber.signal?.aborted) return Promise.reject(new RealiseCancelledError(`realise of ${job.environment} cancelled by its caller`));
    const key = flightKey(job);
    const running = this.#flights.get(key);
    // A flight cancelled (no caller came back in time) may still be winding down: start afresh.
    const flight = running !== undefined && !running.controller.signal.aborted ? running : this.#start(key, job, subscriber.origin ?? 'socket');
    flight.subscribers.add(subscriber);
    if (flight.grace !== undefined) {
      clearTimeout(flight.grace);
      flight.grace = undefined;
      this.#onGrace({ type: 'rejoined', job, orphaned: this.orphaned });
    }
    return new Promise<RealiseOutcome>((resolve, reject) => {
      const onAbort = (): void => {
        flight.subscribers.delete(subscriber);
        reject(new RealiseCancelledError(`realise of ${job.environment} cancelled by its caller`));
        if (flight.subscribers.size === 0) this.#orphan(flight);
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
    for (const f of this.#flights.values()) clearTimeout(f.grace);
    this.#shutdown.abort(new RealiseCancelledError('the agent is shutting down'));
  }

  // The last caller left: keep fetching for the grace period (kubelet retries a container
  // start that hit its deadline; the retry joins this flight), then give up.
  #orphan(flight: Flight): void {
    const { job } = flight;
    if (this.#graceMs <= 0) {
      flight.controller.abort(new RealiseCancelledError(`realise of ${job.environment} cancelled: no caller left`));
      return;
    }
    flight.grace = setTimeout(() => {
      flight.grace = undefined;
      if (flight.subscribers.size > 0) return;
      flight.controller.abort(new RealiseCancelledError(`realise of ${job.environment} cancelled: no caller came back within ${Math.round(this.#graceMs / 1000)} s`));
      this.#onGrace({ type: 'expired', job, orphaned: this.orphaned });
    }, this.#graceMs);
    flight.grace.unref();
    this.#onGrace({ type: 'orphaned', job, orphaned: this.orphaned });
  }

  #start(key: string, job: RealiseJob, origin: 'prefetch' | 'socket'): Flight {
    const controller = new AbortController();
    const signal = AbortSignal.any([controller.signal, this.#shutdown.signal]);
    const subscribers = new Set<RealiseSubscriber>();
    const startedAt = performance.now();
    const onProgress = (event: RealiseProgressEvent): void => {
      for (const s of subscribers) s.onProgress?.(event);
    };
    // Ended within its grace period: nobody is waiting, and a retry finds the closure in the store.
    const settle = (ok: boolean): void => {
      if (this.#flights.get(key) === flight) this.#flights.delete(key);
      if (flight.grace === undefined) return;
      clearTimeout(flight.grace);
      flight.grace = undefined;
      this.#onGrace({ type: ok ? 'completed' : 'failed', job, orphaned: this.orphaned });
    };
    const promise = this.#realiser.realise(job, { signal, onProgress }).then(
      (outcome) => {
        settle(true);
        return outcome;
      },
      (error: unknown) => {
        settle(false);
        throw error;
      },
    );
    const flight: Flight = { job, controller, subscribers, promise, startedAt, origin };
    this.#flights.set(key, flight);
    promise.then(
      (outcome) => this.#onSettled({ job, origin, outcome, elapsedMs: performance.now() - startedAt }),
      (error: unknown) => this.#onSettled({ job, origin, error, elapsedMs: performance.now() - startedAt }),
    );
    return flight;
  }
}
