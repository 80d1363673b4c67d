/**
 * At most one "go" per `intervalMs` for each key (a pod, a realise): what rate-limits progress
 * events and log lines. The first call for a key always goes; `forget` drops a finished key.
 */
export class Throttle {
  readonly #intervalMs: number;
  readonly #now: () => number;
  readonly #last = new Map<string, number>();

  constructor(intervalMs: number, now: () => number = () => performance.now()) {
    this.#intervalMs = intervalMs;
    this.#now = now;
  }

  /** True (and the key's clock restarts) when the key last went at least `intervalMs` ago, or never. */
  ready(key: string): boolean {
    const now = this.#now();
    const last = this.#last.get(key);
    if (last !== undefined && now - last < this.#intervalMs) return false;
    this.#last.set(key, now);
    return true;
  }

  forget(key: string): void {
    this.#last.delete(key);
  }
}
