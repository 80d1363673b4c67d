import { createHash } from 'node:crypto';
import { mkdirSync } from 'node:fs';
import { join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import type { Lockfile } from '@flox-k8s/lockfile';
import { ClosureIndex } from './closure-index.ts';
import { StoreAbortedError, StoreOptionsError, writeFailure } from './errors.ts';
import { isLocked } from './file-lock.ts';
import { collectGarbage, type GcOptions, type GcResult } from './gc.ts';
import { storeBase, storeLayout, type StoreLayout } from './layout.ts';
import type { PathInfo } from './metadata.ts';
import { buildProfile, type ProfileOptions, type ProfileResult } from './profile.ts';
import type { PathOutcome, RealiseOptions, RealiseResult } from './realise.ts';
import { realiseClosure } from './realise-closure.ts';
import { recoverStore, type RecoveryReport } from './recover.ts';
import { PathRegistry } from './registry.ts';
import { removeLease, removePin, writeLease, writePin, type Lease } from './roots.ts';
import { SingleFlight } from './single-flight.ts';
import { storeUsage, type StoreUsage } from './usage.ts';
import { verifyStore, type VerifyResult } from './verify.ts';
import { PROFILE_FORMAT } from './profile-format.ts';
import { inMemoryFileSystem } from './fs-util.ts';

/** Options of `Store.open`. */
/** Where a profile is mounted in containers unless `profileMountPath` says otherwise. */
export const DEFAULT_PROFILE_MOUNT_PATH = '/run/flox-k8s/env';

export interface StoreOpenOptions {
  /** The store directory paths are named after inside containers (default `/nix/store`). */
  storeDir?: string | undefined;
  /** Where profiles are mounted in containers (default `/run/flox-k8s/env`). */
  profileMountPath?: string | undefined;
  /**
   * fsync unpacked trees, records and directories before a path becomes visible (survives power
   * loss, not only crashes). Default: on, unless the store is on tmpfs or ramfs, whose contents
   * do not outlive a reboot, so an fsync there buys nothing (it cost ~0.5 s of CPU per 7,000
   * entries on the *large* fixture).
   *
   * `'syncfs'`: the unpacked paths of a realise and their records are made durable together, by
   * one syncfs(2) of the store's file system once all of them are unpacked (coreutils' `sync -f`,
   * which must be on PATH), before any is renamed into the store; a second one after the renames,
   * before the realise returns. Leases, pins and profiles are fsynced as with `true`.
   * On *large*, on ext4: 2.33 s against 3.18 s for the realise. syncfs flushes every dirty page of
   * the file system, other programs' too, so this is for a store on a file system of its own; and
   * a realise's paths become visible together, once all are unpacked.
   */
  fsync?: boolean | 'syncfs' | undefined;
  /** Clean debris of crashed processes on open (default true). */
  recover?: boolean | undefined;
  /**
   * The module NAR fetch threads run: a file URL of an entry point that calls
   * `runFetchWorker()` (`@flox-k8s/store/fetch-worker`). Default: the store's own, beside
   * it, which a bundle of the store does not have: a bundle emits such an entry point and
   * passes its URL here. Checked before a thread starts (`FLOXK8S_STORE_FETCH_WORKER_MISSING`).
   */
  fetchWorker?: URL | undefined;
}

/** A node-local, content-addressed Nix store rooted at a host directory. */
export class Store {
  /** The host directory the store lives in. */
  readonly root: string;
  /** The in-container store directory (default `/nix/store`). */
  readonly storeDir: string;
  /** The host directory holding the paths: `${root}/store` (the host side of `storeDir`). */
  readonly hostStoreDir: string;
  /** The host directory holding the profiles (each with its store view, which may be mounted: view-mounts.ts). */
  readonly profilesDir: string;
  /** What opening cleaned up after earlier crashes. */
  readonly recovered: RecoveryReport;
  readonly #layout: StoreLayout;
  readonly #registry: PathRegistry;
  readonly #closures: ClosureIndex;
  readonly #jobs = new SingleFlight<PathOutcome>();
  readonly #profileJobs = new SingleFlight<ProfileResult>();
  readonly #fsync: boolean;
  readonly #syncfs: boolean;
  readonly #profileMountPath: string;
  readonly #fetchWorker: URL | undefined;
  #gcRunning: Promise<unknown> | undefined;

  private constructor(layout: StoreLayout, options: StoreOpenOptions, recovered: RecoveryReport) {
    this.root = layout.root;
    this.storeDir = layout.storeDir;
    this.hostStoreDir = layout.store;
    this.profilesDir = layout.profiles;
    this.#layout = layout;
    this.#registry = new PathRegistry(layout);
    this.#closures = new ClosureIndex(layout);
    this.#fsync = options.fsync === 'syncfs' || (options.fsync ?? !inMemoryFileSystem(layout.root));
    this.#syncfs = options.fsync === 'syncfs';
    this.#profileMountPath = (options.profileMountPath ?? DEFAULT_PROFILE_MOUNT_PATH).replace(/\/+$/, '');
    this.#fetchWorker = options.fetchWorker;
    this.recovered = recovered;
  }

  /** Opens (creating if needed) the store at `root` and cleans debris left by crashed processes. */
  static async open(root: string, options: StoreOpenOptions = {}): Promise<Store> {
    const storeDir = (options.storeDir ?? '/nix/store').replace(/\/+$/, '');
    if (!storeDir.startsWith('/') || !root.startsWith('/')) {
      throw new StoreOptionsError(`root and storeDir must be absolute paths, found root ${root}, storeDir ${storeDir}`);
    }
    if (options.fsync !== undefined && options.fsync !== true && options.fsync !== false && options.fsync !== 'syncfs') {
      throw new StoreOptionsError(`fsync must be true, false or 'syncfs', found ${JSON.stringify(options.fsync)}`);
    }
    const layout = storeLayout(root, storeDir);
    for (const dir of [layout.store, layout.meta, layout.tmp, layout.locks, layout.leases, layout.pins, layout.inflight, layout.containers, layout.profiles, join(root, 'closures')]) {
      try {
        // At most 0755 (not 0777 under a umask of 0): mount sources are refused when a directory on
        // their way is writable by others.
        mkdirSync(dir, { recursive: true, mode: 0o755 });
      } catch (err) {
        throw writeFailure(err, 'creating the store layout', dir);
      }
    }
    let recovered: RecoveryReport = { tempEntries: 0, staleLocks: 0, orphanMetadata: 0 };
    try {
      if (options.recover !== false) recovered = recoverStore(layout);
    } catch (err) {
      throw writeFailure(err, 'cleaning up after crashed processes', root);
    }
    return new Store(layout, options, recovered);
  }

  /** Host directory of a store path: `${root}/store/<hash>-<name>`. */
  hostPath(storePath: string): string {
    return join(this.#layout.store, storeBase(storePath, this.storeDir));
  }

  /** The record of a valid path, or undefined when it is not (completely) in the store. */
  pathInfo(storePath: string): PathInfo | undefined {
    const valid = this.#registry.valid(storeBase(storePath, this.storeDir));
    if (valid === undefined) return undefined;
    const info = { ...valid, references: [...valid.references] };
    // Uses are recorded per closure (index entry mtime), not per path.
    for (const entry of this.#closures.entries()) {
      if (entry.lastUse > info.lastUse && entry.closure.includes(info.storePath)) info.lastUse = entry.lastUse;
    }
    return info;
  }

  /**
   * Makes the closure of `storePaths` valid: fetches only what is missing,
   * each path once across concurrent callers and processes, each verified
   * and renamed into place only after its references are valid.
   */
  async realise(storePaths: string[], options: RealiseOptions): Promise<RealiseResult> {
    return realiseClosure(
      {
        layout: this.#layout,
        registry: this.#registry,
        jobs: this.#jobs,
        fsync: this.#fsync,
        syncfs: this.#syncfs,
        closures: this.#closures,
        waitForGc: (signal) => this.#waitForGc(signal),
        lease: (id, roots, ttlMs) => void this.lease(id, roots, ttlMs),
        fetchWorker: this.#fetchWorker,
      },
      storePaths,
      options,
    );
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

  /** How many valid paths the store holds and their NarSize sum (what GC counts), read now. */
  usage(): StoreUsage {
    return storeUsage(this.#registry);
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
    // The store view is the container's store directory: nothing else may live there.
    if (`${this.storeDir}/`.startsWith(`${containerPath}/`) || containerPath.startsWith(`${this.storeDir}/`)) {
      throw new StoreOptionsError(`profile containerPath must be outside ${this.storeDir} and not contain it, found ${containerPath}`);
    }
    // The assets embed the mount path, so a profile for another mount path is another profile.
    const mountTag = containerPath === this.#profileMountPath ? '' : `-${createHash('sha256').update(containerPath).digest('hex').slice(0, 12)}`;
    const key = `${digest}-${system}-${mode}-f${PROFILE_FORMAT}${mountTag}`;
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
