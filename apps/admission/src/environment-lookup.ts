// Reference → lockfile through the configured sources, shared by concurrent reviews of
// the same reference (one fetch in flight) and kept for a short while: a live or
// generation reference may move, so the cache only spares a burst of reviews (a
// Deployment's ReplicaSet and its pods arrive together) the same lookups.
import { fetchEnvironment, parseFetched, type FetchedEnvironment, type EnvironmentSourceReader } from '@flox-k8s/environments';
import { formatEnvironmentRef, type EnvironmentRef, type Lockfile } from '@flox-k8s/lockfile';

/** A reference that resolved: the lockfile bytes the sources served, parsed. */
export interface FoundEnvironment {
  fetched: FetchedEnvironment;
  lock: Lockfile;
}

export class EnvironmentLookup {
  readonly #readers: readonly EnvironmentSourceReader[];
  readonly #ttlMs: number;
  readonly #maxEntries: number;
  readonly #found = new Map<string, { at: number; value: FoundEnvironment }>();
  readonly #inFlight = new Map<string, Promise<FoundEnvironment>>();

  constructor(readers: readonly EnvironmentSourceReader[], options: { ttlMs: number; maxEntries?: number }) {
    this.#readers = readers;
    this.#ttlMs = options.ttlMs;
    this.#maxEntries = options.maxEntries ?? 1_000;
  }

  get readers(): readonly EnvironmentSourceReader[] {
    return this.#readers;
  }

  /** Resolve `ref`; throws the sources' coded errors (not found, source failed, digest mismatch, bad lockfile). */
  find(ref: EnvironmentRef): Promise<FoundEnvironment> {
    const key = formatEnvironmentRef(ref);
    const hit = this.#found.get(key);
    if (hit !== undefined && Date.now() - hit.at < this.#ttlMs) return Promise.resolve(hit.value);
    const running = this.#inFlight.get(key);
    if (running !== undefined) return running;
    const lookup = (async () => {
      const fetched = await fetchEnvironment(ref, this.#readers);
      return { fetched, lock: parseFetched(fetched) };
    })();
    this.#inFlight.set(key, lookup);
    void lookup.then(
      (value) => {
        this.#inFlight.delete(key);
        if (this.#ttlMs <= 0) return;
        this.#found.delete(key);
        this.#found.set(key, { at: Date.now(), value });
        if (this.#found.size > this.#maxEntries) this.#found.delete(this.#found.keys().next().value!);
      },
      () => this.#inFlight.delete(key),
    );
    return lookup;
  }
}
