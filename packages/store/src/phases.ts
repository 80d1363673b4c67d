import { StoreAbortedError } from './errors.ts';

/** The phases `realise` reports durations for. */
export type RealisePhase = 'resolve' | 'fetch' | 'verify' | 'unpack';

/**
 * Wall-clock time during which at least one path was in each phase. Paths
 * overlap (they are fetched concurrently), so a phase counts once however
 * many paths are in it, and phases may overlap each other.
 */
export class PhaseClock {
  readonly #active: Record<RealisePhase, number> = { resolve: 0, fetch: 0, verify: 0, unpack: 0 };
  readonly #since: Record<RealisePhase, number> = { resolve: 0, fetch: 0, verify: 0, unpack: 0 };
  readonly #total: Record<RealisePhase, number> = { resolve: 0, fetch: 0, verify: 0, unpack: 0 };

  enter(phase: RealisePhase): void {
    if (this.#active[phase]++ === 0) this.#since[phase] = performance.now();
  }

  leave(phase: RealisePhase): void {
    if (--this.#active[phase] === 0) this.#total[phase] += performance.now() - this.#since[phase];
  }

  async time<T>(phase: RealisePhase, fn: () => Promise<T>): Promise<T> {
    this.enter(phase);
    try {
      return await fn();
    } finally {
      this.leave(phase);
    }
  }

  durations(): Record<RealisePhase, number> {
    const round = (ms: number): number => Math.round(ms * 1000) / 1000;
    return {
      resolve: round(this.#total.resolve),
      fetch: round(this.#total.fetch),
      verify: round(this.#total.verify),
      unpack: round(this.#total.unpack),
    };
  }
}

/**
 * `promise`, or StoreAbortedError as soon as `signal` fires, whichever comes
 * first. Every wait of a realise goes through this, so an abort never leaves a
 * job holding its path lock while it waits for something that may never come.
 */
export async function untilAborted<T>(promise: Promise<T>, signal: AbortSignal | undefined, what: string): Promise<T> {
  if (signal === undefined) return promise;
  let onAbort: (() => void) | undefined;
  const aborted = new Promise<never>((_, reject) => {
    onAbort = () => reject(new StoreAbortedError(`aborted while ${what}`, { cause: signal.reason }));
    if (signal.aborted) onAbort();
    else signal.addEventListener('abort', onAbort, { once: true });
  });
  try {
    return await Promise.race([promise, aborted]);
  } finally {
    if (onAbort) signal.removeEventListener('abort', onAbort);
  }
}

/** A counting semaphore bounding concurrent downloads. */
export class Semaphore {
  #free: number;
  readonly #queue: Array<() => void> = [];

  constructor(size: number) {
    this.#free = Math.max(1, size);
  }

  /** Runs `fn` once a slot is free; waiting for one ends with StoreAbortedError when `signal` fires. */
  async run<T>(fn: () => Promise<T>, signal?: AbortSignal): Promise<T> {
    if (this.#free > 0) this.#free--;
    else {
      let wake: (() => void) | undefined;
      const slot = new Promise<void>((resolve) => this.#queue.push((wake = resolve)));
      try {
        await untilAborted(slot, signal, 'waiting for a download slot');
      } catch (err) {
        const i = this.#queue.indexOf(wake as () => void);
        if (i >= 0) this.#queue.splice(i, 1);
        else this.#release(); // the slot was handed over just as the signal fired: pass it on
        throw err;
      }
    }
    try {
      return await fn();
    } finally {
      this.#release();
    }
  }

  #release(): void {
    const next = this.#queue.shift();
    if (next) next();
    else this.#free++;
  }
}
