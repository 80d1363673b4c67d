/** Where a closure realise stands: what it must fetch, and how much of it is done. */
export interface ProgressSnapshot {
  /** Store paths to fetch (missing from the store when the realise resolved its closure). */
  pathsTotal: number;
  pathsDone: number;
  /** NAR bytes (uncompressed) of those paths; `bytesDone` never exceeds it. */
  bytesTotal: number;
  bytesDone: number;
  /** Since the tally started. */
  elapsedMs: number;
  /** False until the closure is resolved (totals unknown). */
  planned: boolean;
}

/**
 * An event of `@flox-k8s/store`'s `realise({ onProgress })`, typed here by the fields this tally
 * reads so the package depends on nothing: `resolved` (`missing`, `narBytes`), `fetch-start` and
 * `fetch-progress` (`storePath`, `bytesOut`, `narSize`), `fetched` (`storePath`, `narSize`),
 * `present` (`storePath`); other types are ignored.
 */
export interface StoreProgressEvent {
  type: string;
  storePath?: string;
  missing?: number;
  narBytes?: number;
  bytesOut?: number;
  narSize?: number;
  [field: string]: unknown;
}

/**
 * Adds up a realise's progress. Each path counts once however often it is reported; bytes of a
 * path are its latest cumulative figure, so repeated or out-of-order reports never count twice.
 */
export class RealiseTally {
  readonly #now: () => number;
  readonly #started: number;
  readonly #bytes = new Map<string, number>();
  readonly #sizes = new Map<string, number>();
  readonly #done = new Set<string>();
  #pathsTotal = 0;
  #bytesTotal = 0;
  #bytesDone = 0;
  #planned = false;

  constructor(now: () => number = () => performance.now()) {
    this.#now = now;
    this.#started = now();
  }

  /** What must be fetched: `paths` store paths of `bytes` NAR bytes in all. */
  plan(paths: number, bytes: number): void {
    this.#pathsTotal = Math.max(0, paths);
    this.#bytesTotal = Math.max(0, bytes);
    this.#planned = true;
  }

  /** `bytes` of `path` are in (cumulative, as a download reports them); `size` is its NAR size when known. */
  pathBytes(path: string, bytes: number, size?: number): void {
    if (size !== undefined) this.#sizes.set(path, size);
    if (this.#done.has(path)) return;
    const before = this.#bytes.get(path) ?? 0;
    const now = Math.max(before, Math.min(bytes, this.#sizes.get(path) ?? bytes));
    this.#bytes.set(path, now);
    this.#bytesDone += now - before;
  }

  /** `path` is in the store (fetched, or realised by someone else); `size` its NAR size when known. */
  pathDone(path: string, size?: number): void {
    if (this.#done.has(path)) return;
    const full = size ?? this.#sizes.get(path);
    if (full !== undefined) this.pathBytes(path, full, full);
    this.#done.add(path);
  }

  /** Reads one `@flox-k8s/store` progress event. */
  observe(event: StoreProgressEvent): void {
    const e = event;
    if (e.type === 'resolved') this.plan(e.missing ?? 0, e.narBytes ?? 0);
    else if (e.storePath === undefined) return;
    else if (e.type === 'fetch-start') this.pathBytes(e.storePath, 0, e.narSize);
    else if (e.type === 'fetch-progress') this.pathBytes(e.storePath, e.bytesOut ?? 0, e.narSize);
    else if (e.type === 'fetched') this.pathDone(e.storePath, e.narSize);
    else if (e.type === 'present') this.pathDone(e.storePath);
  }

  /** NAR bytes still to come (0 before the plan is known). */
  get bytesOutstanding(): number {
    return Math.max(0, this.#bytesTotal - this.#bytesDone);
  }

  snapshot(): ProgressSnapshot {
    return {
      pathsTotal: this.#pathsTotal,
      pathsDone: Math.min(this.#done.size, this.#pathsTotal),
      bytesTotal: this.#bytesTotal,
      bytesDone: Math.min(this.#bytesDone, this.#bytesTotal),
      elapsedMs: this.#now() - this.#started,
      planned: this.#planned,
    };
  }
}
