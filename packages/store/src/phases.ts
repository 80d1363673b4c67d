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

/** A counting semaphore bounding concurrent downloads. */
export class Semaphore {
  #free: number;
  readonly #queue: Array<() => void> = [];

  constructor(size: number) {
    this.#free = Math.max(1, size);
  }

  async run<T>(fn: () => Promise<T>): Promise<T> {
    if (this.#free > 0) this.#free--;
    else await new Promise<void>((resolve) => this.#queue.push(resolve));
    try {
      return await fn();
    } finally {
      const next = this.#queue.shift();
      if (next) next();
      else this.#free++;
    }
  }
}
