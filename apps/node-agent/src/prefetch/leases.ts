import type { Store } from '@flox-k8s/store';

/**
 * GC roots for pods on this node: a lease per pod on its closure, renewed while the pod exists
 * (so a crashed agent's leases still expire), released when the pod is deleted.
 */
export class PodLeases {
  readonly #store: Pick<Store, 'lease' | 'release'>;
  readonly #ttlMs: number;
  readonly #held = new Map<string, string[]>();
  readonly #onRenewalError: (error: unknown, podUid: string) => void;
  #timer: NodeJS.Timeout | undefined;

  /**
   * `onRenewalError`: a renewal failed (a full disk: FLOXK8S_STORE_DISK_FULL). The previous lease
   * stays in force until its TTL and the next round tries again; the timer never throws.
   */
  constructor(store: Pick<Store, 'lease' | 'release'>, ttlMs: number, onRenewalError: (error: unknown, podUid: string) => void) {
    this.#store = store;
    this.#ttlMs = ttlMs;
    this.#onRenewalError = onRenewalError;
  }

  static id(podUid: string): string {
    return `pod-${podUid}`;
  }

  hold(podUid: string, roots: string[]): void {
    this.#held.set(podUid, roots);
    this.#store.lease(PodLeases.id(podUid), roots, this.#ttlMs);
  }

  release(podUid: string): void {
    this.#held.delete(podUid);
    this.#store.release(PodLeases.id(podUid));
  }

  get size(): number {
    return this.#held.size;
  }

  start(): void {
    this.#timer = setInterval(() => {
      for (const [uid, roots] of this.#held) {
        try {
          this.#store.lease(PodLeases.id(uid), roots, this.#ttlMs);
        } catch (error) {
          this.#onRenewalError(error, uid);
        }
      }
    }, Math.max(1_000, Math.floor(this.#ttlMs / 3)));
    this.#timer.unref();
  }

  stop(): void {
    clearInterval(this.#timer);
  }
}
