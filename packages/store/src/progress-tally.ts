import type { RealiseProgress } from './realise.ts';

/** How far a realise is: paths and NAR bytes of what was missing when it started. */
export interface RealiseTotals {
  pathsDone: number;
  pathsTotal: number;
  narBytesDone: number;
  narBytesTotal: number;
}

/**
 * Turns a realise's progress events into running totals, for people watching a cold start
 * (the shim's log, the agent's socket): paths done of those missing, and NAR bytes unpacked.
 * A path another process realised counts as done, its bytes as unknown.
 */
export class RealiseTally {
  #pathsTotal = 0;
  #narBytesTotal = 0;
  readonly #bytes = new Map<string, number>();
  readonly #done = new Set<string>();
  #narBytesDone = 0;

  /** Takes one event; returns the totals after it. */
  update(event: RealiseProgress): RealiseTotals {
    switch (event.type) {
      case 'resolved':
        this.#pathsTotal = event.missing;
        this.#narBytesTotal = event.narBytes;
        break;
      case 'fetch-progress':
        this.#setBytes(event.storePath, Math.min(event.bytesOut, event.narSize));
        break;
      case 'fetched':
        this.#setBytes(event.storePath, event.narSize);
        break;
      case 'registered':
      case 'present':
        this.#done.add(event.storePath);
        break;
      default:
        break;
    }
    return this.totals();
  }

  totals(): RealiseTotals {
    return { pathsDone: this.#done.size, pathsTotal: this.#pathsTotal, narBytesDone: this.#narBytesDone, narBytesTotal: this.#narBytesTotal };
  }

  #setBytes(storePath: string, bytes: number): void {
    const before = this.#bytes.get(storePath) ?? 0;
    if (bytes <= before) return;
    this.#bytes.set(storePath, bytes);
    this.#narBytesDone += bytes - before;
  }
}
