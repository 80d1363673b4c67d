import { createHash } from 'node:crypto';
import { mkdirSync } from 'node:fs';
import { join } from 'node:path';
import type { Lockfile } from '@flox-k8s/lockfile';
import type { FoundNarinfo } from '@flox-k8s/nar';
import { StoreAbortedError, StoreFetchError, StoreOptionsError } from './errors.ts';
import { isLocked } from './file-lock.ts';
import { ClosureIndex } from './closure-index.ts';
import { collectGarbage, type GcOptions, type GcResult } from './gc.ts';
import { storeBase, storeLayout, type StoreLayout } from './layout.ts';
import { readPathInfo, type PathInfo } from './metadata.ts';
import { PhaseClock, Semaphore } from './phases.ts';
import { DEFAULT_CONCURRENCY } from './realise.ts';
import { buildProfile, type ProfileOptions, type ProfileResult } from './profile.ts';
import {
  clientFor,
  realisePath,
  storeFailure,
  type PathOutcome,
  type RealiseContext,
  type RealiseOptions,
  type RealiseResult,
} from './realise.ts';
import { recoverStore, type RecoveryReport } from './recover.ts';
import { PathRegistry } from './registry.ts';
import { InflightRoot, removeLease, removePin, writeLease, writePin, type Lease } from './roots.ts';
import { SingleFlight, type SharedJob } from './single-flight.ts';
import { verifyStore, type VerifyResult } from './verify.ts';
import { setTimeout as sleep } from 'node:timers/promises';

/** Options of `Store.open`. */
export interface StoreOpenOptions {
  /** The store directory paths are named after inside containers (default `/nix/store`). */
  storeDir?: string | undefined;
  /** Where profiles are mounted in containers (default `/run/flox-k8s/env`). */
  profileMountPath?: string | undefined;
  /** fsync unpacked trees before they become visible (default true; survives power loss, not only crashes). */
  fsync?: boolean | undefined;
  /** Clean debris of crashed processes on open (default true). */
  recover?: boolean | undefined;
}

const MAX_RESOLVE_ROUNDS = 4;

/** A node-local, content-addressed Nix store rooted at a host directory. */
export class Store {
  /** The host directory the store lives in. */
  readonly root: string;
  /** The in-container store directory (default `/nix/store`). */
  readonly storeDir: string;
  /** What opening cleaned up after earlier crashes. */
  readonly recovered: RecoveryReport;
  readonly #layout: StoreLayout;
  readonly #registry: PathRegistry;
  readonly #closures: ClosureIndex;
  readonly #jobs = new SingleFlight<PathOutcome>();
  readonly #profileJobs = new SingleFlight<ProfileResult>();
  readonly #fsync: boolean;
  readonly #profileMountPath: string;
  #gcRunning: Promise<unknown> | undefined;

  private constructor(layout: StoreLayout, options: StoreOpenOptions, recovered: RecoveryReport) {
    this.root = layout.root;
    this.storeDir = layout.storeDir;
    this.#layout = layout;
    this.#registry = new PathRegistry(layout);
    this.#closures = new ClosureIndex(layout);
    this.#fsync = options.fsync ?? true;
    this.#profileMountPath = (options.profileMountPath ?? '/run/flox-k8s/env').replace(/\/+$/, '');
    this.recovered = recovered;
  }

  /** Opens (creating if needed) the store at `root` and cleans debris left by crashed processes. */
  static async open(root: string, options: StoreOpenOptions = {}): Promise<Store> {
    const storeDir = (options.storeDir ?? '/nix/store').replace(/\/+$/, '');
    if (!storeDir.startsWith('/') || !root.startsWith('/')) {
      throw new StoreOptionsError(`root and storeDir must be absolute paths, found root ${root}, storeDir ${storeDir}`);
    }
    const layout = storeLayout(root, storeDir);
    for (const dir of [layout.store, layout.meta, layout.tmp, layout.locks, layout.leases, layout.pins, layout.inflight, layout.profiles, join(root, 'closures')]) {
      mkdirSync(dir, { recursive: true });
    }
    const recovered =
      options.recover === false ? { tempEntries: 0, staleLocks: 0, orphanMetadata: 0 } : recoverStore(layout);
    return new Store(layout, options, recovered);
  }

  /** Host directory of a store path: `${root}/store/<hash>-<name>`. */
  hostPath(storePath: string): string {
    return join(this.#layout.store, storeBase(storePath, this.storeDir));
  }

  /** The record of a valid path, or undefined when it is not (completely) in the store. */
  pathInfo(storePath: string): PathInfo | undefined {
    const base = storeBase(storePath, this.storeDir);
    return this.#registry.valid(base) ? readPathInfo(this.#layout.meta, base) : undefined;
  }

  /**
   * Makes the closure of `storePaths` valid: fetches only what is missing,
   * each path once across concurrent callers and processes, each verified
   * and renamed into place only after its references are valid.
   */
  async realise(storePaths: string[], options: RealiseOptions): Promise<RealiseResult> {
    const requested = [...new Set(storePaths)];
    for (const p of requested) storeBase(p, this.storeDir);
    const signal = options.signal;
    if (signal?.aborted) throw new StoreAbortedError('realise aborted before it started', { cause: signal.reason });
    const clock = new PhaseClock();
    const root = new InflightRoot(this.#layout);
    const found = new Map<string, FoundNarinfo>();
    let client: ReturnType<typeof clientFor> | undefined;
    try {
      clock.enter('resolve');
      let closure: string[];
      const indexKey = ClosureIndex.key(requested);
      try {
        root.set(requested);
        await this.#waitForGc(signal);
        const cached = this.#closures.lookup(indexKey, this.storeDir.length);
        if (cached !== undefined) {
          clock.leave('resolve');
          this.#closures.touch(indexKey);
          if (options.lease) this.lease(options.lease.id, requested, options.lease.ttlMs);
          options.onProgress?.({ type: 'resolved', closure: cached.length, missing: 0, narBytes: 0 });
          return { closure: cached, fetched: [], present: cached, bytesDownloaded: 0, narBytes: 0, durations: clock.durations() };
        }
        for (let round = 0; ; round++) {
          const walk = this.#walk(requested, found);
          if (walk.unknown.length === 0) {
            closure = walk.closure;
            break;
          }
          if (round >= MAX_RESOLVE_ROUNDS) {
            throw new StoreFetchError(`closure of ${requested.join(', ')} kept changing under a concurrent GC; retry`);
          }
          client ??= clientFor(options, this.storeDir);
          const more = await client.client.closure(walk.unknown, { signal });
          for (const [path, entry] of more) found.set(path, entry);
          root.set([...walk.closure, ...more.keys()]);
          await this.#waitForGc(signal);
        }
      } catch (err) {
        clock.leave('resolve');
        throw storeFailure(requested.join(', '), err, signal);
      }
      clock.leave('resolve');

      const missing = closure.filter((p) => !this.#registry.valid(this.#base(p)));
      const narBytes = missing.reduce((sum, p) => sum + (found.get(p)?.narinfo.narSize ?? 0), 0);
      options.onProgress?.({ type: 'resolved', closure: closure.length, missing: missing.length, narBytes });
      const outcomes = missing.length === 0 ? new Map<string, PathOutcome>() : await this.#fetchAll(missing, found, options, clock, client);

      // Writing the index entry also records this use of the closure (its mtime).
      this.#closures.write(indexKey, requested, closure);
      if (options.lease) this.lease(options.lease.id, requested, options.lease.ttlMs);
      const fetched: string[] = [];
      let bytesDownloaded = 0;
      let fetchedNarBytes = 0;
      for (const [path, outcome] of outcomes) {
        if (outcome.kind !== 'fetched') continue;
        fetched.push(path);
        bytesDownloaded += outcome.fileSize;
        fetchedNarBytes += outcome.narSize;
      }
      fetched.sort();
      const fetchedSet = new Set(fetched);
      return {
        closure,
        fetched,
        present: closure.filter((p) => !fetchedSet.has(p)),
        bytesDownloaded,
        narBytes: fetchedNarBytes,
        durations: clock.durations(),
      };
    } finally {
      root.remove();
      if (client?.owned) await client.client.close();
    }
  }

  async #fetchAll(
    missing: string[],
    found: Map<string, FoundNarinfo>,
    options: RealiseOptions,
    clock: PhaseClock,
    client: ReturnType<typeof clientFor> | undefined,
  ): Promise<Map<string, PathOutcome>> {
    const ctx: RealiseContext = { layout: this.#layout, registry: this.#registry, jobs: this.#jobs, fsync: this.#fsync };
    const owned = client ?? clientFor(options, this.storeDir);
    const downloads = new Semaphore(options.concurrency ?? DEFAULT_CONCURRENCY);
    const failFast = new AbortController();
    const signal = options.signal ? AbortSignal.any([options.signal, failFast.signal]) : failFast.signal;
    const jobs = new Map<string, SharedJob<PathOutcome>>();
    const jobFor = (path: string): SharedJob<PathOutcome> | undefined => jobs.get(path);
    const prefix = `${this.storeDir}/`;
    try {
      for (const path of missing) {
        const entry = found.get(path) as FoundNarinfo;
        const base = this.#base(path);
        const dependencies = entry.narinfo.references.filter((r) => r !== base).map((r) => `${prefix}${r}`);
        jobs.set(
          path,
          this.#jobs.get(base, (jobSignal) =>
            realisePath(
              ctx,
              {
                storePath: path,
                base,
                found: entry,
                dependencies,
                dependencyJob: (dep) => {
                  const job = jobFor(dep);
                  if (job) return job.promise;
                  if (this.#registry.valid(this.#base(dep))) return undefined;
                  return Promise.reject(new StoreFetchError(`${path} references ${dep}, which is neither valid nor being realised`));
                },
                client: owned.client,
                downloads,
                clock,
                onProgress: options.onProgress,
              },
              jobSignal,
            ),
          ),
        );
      }
      const settled = await Promise.allSettled(
        [...jobs.values()].map((job) =>
          job.join(signal).catch((err: unknown) => {
            failFast.abort(err);
            throw err;
          }),
        ),
      );
      // Jobs nobody waits for any more were cancelled: let them remove their temp files before reporting.
      await Promise.allSettled([...jobs.values()].filter((j) => j.abandoned).map((j) => j.promise));
      const outcomes = new Map<string, PathOutcome>();
      let firstError: unknown;
      let i = 0;
      for (const path of jobs.keys()) {
        const s = settled[i++] as PromiseSettledResult<PathOutcome>;
        if (s.status === 'fulfilled') outcomes.set(path, s.value);
        else if (firstError === undefined || (firstError instanceof StoreAbortedError && !(s.reason instanceof StoreAbortedError))) {
          firstError = storeFailure(path, s.reason, options.signal);
        }
      }
      if (firstError !== undefined) throw firstError;
      return outcomes;
    } finally {
      if (!client && owned.owned) await owned.client.close();
    }
  }

  /** Closure walk: valid paths via their metadata, others via fetched narinfos; `unknown` needs narinfos. */
  #walk(requested: readonly string[], found: Map<string, FoundNarinfo>): { closure: string[]; unknown: string[] } {
    const seen = new Set<string>();
    const unknown: string[] = [];
    const stack = [...requested];
    const prefix = `${this.storeDir}/`;
    while (stack.length > 0) {
      const path = stack.pop() as string;
      if (seen.has(path)) continue;
      seen.add(path);
      const info = this.#registry.valid(this.#base(path));
      if (info) {
        for (const ref of info.references) if (!seen.has(ref)) stack.push(ref);
        continue;
      }
      const entry = found.get(path);
      if (entry) {
        for (const ref of entry.narinfo.references) if (!seen.has(`${prefix}${ref}`)) stack.push(`${prefix}${ref}`);
        continue;
      }
      unknown.push(path);
    }
    return { closure: [...seen].sort(), unknown };
  }

  #base(storePath: string): string {
    return storePath.slice(this.storeDir.length + 1);
  }

  // A realise that finds the GC lock held must wait before looking at the
  // store: that GC may have read the roots before this realise wrote its own.
  async #waitForGc(signal: AbortSignal | undefined): Promise<void> {
    const gcLock = join(this.#layout.root, 'gc.lock');
    let delay = 2;
    while (this.#gcRunning !== undefined || isLocked(gcLock)) {
      if (signal?.aborted) throw new StoreAbortedError('aborted while waiting for a GC to finish', { cause: signal.reason });
      if (this.#gcRunning) await this.#gcRunning.catch(() => undefined);
      else await sleep(delay);
      delay = Math.min(delay * 2, 50);
    }
  }

  /** Holds `roots` (and their closures) until `ttlMs` from now; renewing replaces the lease. */
  lease(id: string, roots: string[], ttlMs: number): Lease {
    for (const p of roots) storeBase(p, this.storeDir);
    return writeLease(this.#layout, id, roots, ttlMs, Date.now());
  }

  /** Drops a lease; false when there was none. */
  release(id: string): boolean {
    return removeLease(this.#layout, id);
  }

  /** Makes `roots` (and their closures) permanent GC roots under `name`. */
  pin(name: string, roots: string[]): void {
    for (const p of roots) storeBase(p, this.storeDir);
    writePin(this.#layout, name, roots);
  }

  /** Removes a pin; false when there was none. */
  unpin(name: string): boolean {
    return removePin(this.#layout, name);
  }

  /** Collects unreachable paths, least recently used first, between the watermarks. */
  async gc(options: GcOptions = {}): Promise<GcResult> {
    const run = collectGarbage(
      { layout: this.#layout, registry: this.#registry, closures: this.#closures },
      options,
    );
    this.#gcRunning = run;
    try {
      return await run;
    } finally {
      if (this.#gcRunning === run) this.#gcRunning = undefined;
    }
  }

  /** Re-hashes every valid path against its recorded NarHash. */
  async verify(): Promise<VerifyResult> {
    return verifyStore(this.#registry, this.storeDir);
  }

  /**
   * The merged profile (Nix buildEnv semantics) of `lock` on `system`, with
   * its activation assets; built once per lockfile digest, atomically. The
   * closure must already be realised.
   */
  async profile(lock: Lockfile, system: string, options: ProfileOptions = {}): Promise<ProfileResult> {
    const digest = lock.digest;
    if (digest === undefined || !/^[0-9a-f]{64}$/.test(digest)) {
      throw new StoreOptionsError('profile: the lockfile has no digest; parse it from its bytes (parseLockfile(bytes)) first');
    }
    const mode = options.mode ?? 'run';
    const containerPath = (options.containerPath ?? this.#profileMountPath).replace(/\/+$/, '');
    if (!containerPath.startsWith('/')) throw new StoreOptionsError(`profile containerPath must be absolute, found ${containerPath}`);
    // The assets embed the mount path, so a profile for another mount path is another profile.
    const mountTag = containerPath === this.#profileMountPath ? '' : `-${createHash('sha256').update(containerPath).digest('hex').slice(0, 12)}`;
    const key = `${digest}-${system}-${mode}${mountTag}`;
    const job = this.#profileJobs.get(key, () =>
      buildProfile({
        layout: this.#layout,
        registry: this.#registry,
        lock,
        system,
        mode,
        key,
        digest,
        containerPath,
        fsync: this.#fsync,
        waitForGc: () => this.#waitForGc(undefined),
      }),
    );
    return job.join(undefined);
  }
}
