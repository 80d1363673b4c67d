import { closeSync, constants, existsSync, openSync, readdirSync, readlinkSync, statSync, unlinkSync } from 'node:fs';
import { join } from 'node:path';
import type { PatchPlan } from '@flox-k8s/oci-patch';
import { STORE_VIEW_DIR } from '@flox-k8s/store';
import { bootId, claimForEviction, mountStoreView, readViewMounts, unmountStoreView, viewMountsRecord } from '@flox-k8s/store/view-mounts';
import type { StoreViewMounter, ViewCaller } from '../context.ts';
import type { Logger } from '../log.ts';
import { boundBases, wantsMountedView } from '../store-views.ts';

/** When and how many store views the patch service mounts (config `storeViewMounts`). */
export interface ViewMounterOptions {
  /** Closures with fewer paths to bind keep one bind mount per path (default 64). */
  minPaths: number;
  /** Mounts all mounted views may hold together on the host; 0 turns mounted views off. */
  maxMounts: number;
  /** A view used within this long is never evicted (default 60 s: a create binds it within ms of reading its record). */
  idleMs?: number;
  /** Where the profiles are (`<storeRoot>/profiles`): views mounted before a restart count against maxMounts. */
  profilesDir: string;
  log: Logger;
  /** Processes whose mount namespaces may hold views, for unmounting (default this process, then PID 1). */
  mountNamespacePids?: readonly number[];
  /** After a failed mount, the same view is not tried again for this long (default 10 min). */
  retryMs?: number;
  /** Told of each mount, failure, eviction and mount left out for want of room (the agent's metric). */
  onEvent?: ((event: ViewMountEvent) => void) | undefined;
}

/** What the ViewMounter reports (`onEvent`). */
export type ViewMountEvent = 'mounted' | 'failed' | 'evicted' | 'no-room';

interface Known {
  mounts: number;
}

/**
 * Mounts the store view of a large closure on the host after a create that bound each of its
 * paths, so the next creates bind the view once (`@flox-k8s/store`'s view-mounts). One mount at a
 * time, off the create's path; the total number of host mounts is bounded by `maxMounts`, the
 * views unused the longest going first. Never throws: a view that cannot be mounted leaves the
 * creates on one bind per path.
 */
export class ViewMounter implements StoreViewMounter {
  readonly #options: Required<Omit<ViewMounterOptions, 'mountNamespacePids' | 'onEvent'>> & { mountNamespacePids: readonly number[] | undefined };
  readonly #onEvent: (event: ViewMountEvent) => void;
  readonly #known = new Map<string, Known>();
  readonly #queued = new Set<string>();
  readonly #failedAt = new Map<string, number>();
  #chain: Promise<void> = Promise.resolve();
  #closed = false;

  constructor(options: ViewMounterOptions) {
    const { onEvent, ...rest } = options;
    this.#options = { idleMs: 60_000, retryMs: 600_000, ...rest, mountNamespacePids: options.mountNamespacePids };
    this.#onEvent = (event) => {
      try {
        onEvent?.(event);
      } catch {
        // a metric must not stop a mount
      }
    };
    this.#scan();
  }

  /** Views mounted before this process started (records of this boot); stale records go. */
  #scan(): void {
    let names: string[];
    try {
      names = readdirSync(this.#options.profilesDir);
    } catch {
      return;
    }
    for (const name of names) {
      const view = join(this.#options.profilesDir, name, STORE_VIEW_DIR);
      const record = viewMountsRecord(view);
      const mounts = readViewMounts(record);
      if (mounts === undefined) continue;
      // A record of an earlier boot: its mounts died with it.
      if (mounts.bootId !== bootId()) {
        unlinkQuiet(record);
        continue;
      }
      this.#known.set(view, { mounts: mounts.mounts });
    }
  }

  /** The host mounts the known views hold (a view whose record went, say to GC, holds none). */
  get mounts(): number {
    let total = 0;
    for (const [view, known] of this.#known) {
      if (existsSync(viewMountsRecord(view))) total += known.mounts;
      else this.#known.delete(view);
    }
    return total;
  }

  created(plan: PatchPlan, caller: ViewCaller): void {
    if (this.#closed || plan.storeView.mounted === true || !wantsMountedView(plan, this.#options)) return;
    const bases = boundBases(plan);
    const view = plan.storeView.hostPath;
    if (this.#queued.has(view)) return;
    const failedAt = this.#failedAt.get(view);
    if (failedAt !== undefined && Date.now() - failedAt < this.#options.retryMs) return;
    // The front is alive now (it waits for our answer): hold its namespace for the mount.
    let fd: number;
    try {
      fd = openSync(`/proc/${caller.pid}/ns/mnt`, 'r');
    } catch {
      return;
    }
    // The pid may have been reused between the request and the open: the namespace must be the one checked.
    if (readlinkQuiet(`/proc/self/fd/${fd}`) !== caller.namespace) {
      closeSync(fd);
      return;
    }
    // The caller's root, held too: the front exits once answered, and /proc/<pid>/root with it.
    let rootFd: number | undefined;
    if (caller.path('/') !== '/') {
      try {
        rootFd = openSync(`/proc/${caller.pid}/root`, constants.O_RDONLY | constants.O_DIRECTORY);
      } catch {
        closeSync(fd);
        return;
      }
    }
    const callerPath = rootFd === undefined ? caller.path : (p: string) => `/proc/self/fd/${rootFd}${p}`;
    this.#queued.add(view);
    const job = async (): Promise<void> => {
      try {
        if (this.#closed) return;
        await this.#mount(view, plan.hostStoreDir, bases, { fd, id: caller.namespace }, callerPath);
      } finally {
        closeSync(fd);
        if (rootFd !== undefined) closeSync(rootFd);
        this.#queued.delete(view);
      }
    };
    this.#chain = this.#chain.then(job, job);
  }

  async #mount(view: string, hostStoreDir: string, bases: string[], namespace: { fd: number; id: string }, callerPath: (p: string) => string): Promise<void> {
    const log = this.#options.log;
    const started = performance.now();
    if (!this.#makeRoom(bases.length + 1)) {
      log.log('info', 'store view not mounted: the mount budget is held by views in use', { view, paths: bases.length, maxMounts: this.#options.maxMounts });
      this.#onEvent('no-room');
      return;
    }
    try {
      const mounts = await mountStoreView({ view, hostStoreDir, bases, namespace, callerPath });
      this.#known.set(view, { mounts: mounts.mounts });
      log.log('info', 'store view mounted', { view, mounts: mounts.mounts, ms: Math.round(performance.now() - started), hostMounts: this.mounts });
      this.#onEvent('mounted');
    } catch (error) {
      this.#failedAt.set(view, Date.now());
      log.log('warn', 'store view mount failed; its creates keep one bind mount per path', { view, error });
      this.#onEvent('failed');
    }
  }

  /** Evicts the views unused the longest until `needed` more mounts fit; false when they cannot. */
  #makeRoom(needed: number): boolean {
    const max = this.#options.maxMounts;
    if (this.mounts + needed <= max) return true;
    const byAge = [...this.#known.keys()]
      .map((view) => ({ view, used: mtimeQuiet(viewMountsRecord(view)) }))
      .sort((a, b) => a.used - b.used);
    for (const { view } of byAge) {
      if (this.mounts + needed <= max) break;
      const claimed = claimForEviction(view, this.#options.idleMs);
      if (claimed === undefined) {
        // Gone (GC took it) or in use: a view without a record holds no budget.
        if (readViewMounts(viewMountsRecord(view)) === undefined) this.#known.delete(view);
        continue;
      }
      try {
        const outcome = unmountStoreView(view, this.#options.mountNamespacePids, claimed);
        this.#options.log.log('info', 'store view unmounted', { view, outcome, reason: 'mount budget' });
        this.#onEvent('evicted');
      } catch (error) {
        this.#options.log.log('warn', 'store view unmount failed', { view, error });
      } finally {
        unlinkQuiet(claimed);
        this.#known.delete(view);
      }
    }
    return this.mounts + needed <= max;
  }

  /** Waits for the queued mounts (tests, shutdown). */
  async idle(): Promise<void> {
    await this.#chain;
  }

  /** No new mounts; what is mounted stays for the next agent. */
  async close(): Promise<void> {
    this.#closed = true;
    await this.#chain;
  }
}

function readlinkQuiet(path: string): string | undefined {
  try {
    return readlinkSync(path);
  } catch {
    return undefined;
  }
}

function mtimeQuiet(path: string): number {
  try {
    return statSync(path).mtimeMs;
  } catch {
    return 0;
  }
}

function unlinkQuiet(path: string): void {
  try {
    unlinkSync(path);
  } catch {
    // gone already
  }
}
