import { existsSync, readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { setImmediate as yieldToLoop } from 'node:timers/promises';
import { StoreOptionsError, writeFailure } from './errors.ts';
import { lock, unlock } from './file-lock.ts';
import { fsyncDir } from './fs-util.ts';
import { Trash } from './gc-trash.ts';
import type { StoreLayout } from './layout.ts';
import type { PathInfo } from './metadata.ts';
import type { PathRegistry } from './registry.ts';
import type { ClosureIndex } from './closure-index.ts';
import { removeOrphanRecord } from './recover.ts';
import { readContainerRoots, readInflight, readLeases, readPins, removeExpiredLease } from './root-reader.ts';
import { STORE_VIEW_DIR } from './store-view.ts';
import { unmountStoreView, viewMountsRecord } from './view-mounts.ts';

/** Options of `store.gc`. Watermarks are bytes of NAR content held by the store. */
export interface GcOptions {
  /** Collect only when the store holds more than this (default 0: always). */
  highWatermark?: number | undefined;
  /** Collect until the store holds at most this (default 0: everything unreachable). */
  lowWatermark?: number | undefined;
  /** Report what would be deleted without deleting. */
  dryRun?: boolean | undefined;
  signal?: AbortSignal | undefined;
  /**
   * Where this process sees the host's file system (default `/`): container roots name runc's
   * state directory on the host, looked up under it. The node agent, in a container with
   * `hostPID`, uses `/proc/1/root`.
   */
  hostRoot?: string | undefined;
  /**
   * Processes whose mount namespaces may hold mounted store views (view-mounts.ts), tried in
   * order to unmount a view before its paths go (default: this process, then PID 1).
   */
  mountNamespacePids?: readonly number[] | undefined;
}

/** What `store.gc` did (or would do, with `dryRun`). */
export interface GcResult {
  /** NarSize sum of the deleted paths. */
  freedBytes: number;
  /** Deleted store paths, in deletion order (referrers before their references). */
  deleted: string[];
  /** NarSize sum held before collecting. */
  storeBytes: number;
  /** Whether the high watermark was exceeded. */
  triggered: boolean;
  /** Removed profiles whose closure lost a path. */
  deletedProfiles: string[];
  /** Running containers whose roots held, and roots released (their containers were deleted). */
  containerRoots: { live: number; released: number };
  /** Profiles whose mounted store view was taken down because a path of their closure was unreachable. */
  unmountedViews: string[];
}

/** What GC needs from its store. */
export interface GcContext {
  layout: StoreLayout;
  registry: PathRegistry;
  closures: ClosureIndex;
}

// Every root is read (and validated) before anything is deleted: one that
// cannot be throws GcRootUnreadableError and the collection stops (fails closed).
function liveRoots(ctx: GcContext, now: number, hostRoot: string): { roots: string[]; containers: { live: number; released: number } } {
  const roots: string[] = [];
  const expired: string[] = [];
  for (const { file, lease } of readLeases(ctx.layout)) {
    if (lease.expiresAt > now) roots.push(...lease.roots);
    else expired.push(file);
  }
  for (const pin of readPins(ctx.layout)) roots.push(...pin.roots);
  roots.push(...readInflight(ctx.layout));
  const containers = readContainerRoots(ctx.layout, hostRoot);
  roots.push(...containers.roots);
  for (const file of expired) removeExpiredLease(file, now);
  return { roots, containers: { live: containers.live, released: containers.released } };
}

function reachable(roots: readonly string[], infos: Map<string, PathInfo>, storeDir: string): Set<string> {
  const seen = new Set<string>();
  const prefix = `${storeDir}/`;
  const stack = roots.filter((r) => r.startsWith(prefix)).map((r) => r.slice(prefix.length).split('/')[0] ?? '');
  while (stack.length > 0) {
    const base = stack.pop() as string;
    if (seen.has(base)) continue;
    seen.add(base);
    const info = infos.get(base);
    if (!info) continue;
    for (const ref of info.references) if (ref.startsWith(prefix)) stack.push(ref.slice(prefix.length));
  }
  return seen;
}

/**
 * Deletes unreachable paths, least recently used first, until the store is
 * below the low watermark. A path goes only after every path referencing it
 * (they are unreachable too, or it would not be), so the store never holds a
 * path whose references are missing. Deleting is a rename out of `store/`
 * followed by removing the metadata: the reverse of registration.
 */
export async function collectGarbage(ctx: GcContext, opts: GcOptions): Promise<GcResult> {
  const high = opts.highWatermark ?? 0;
  const low = opts.lowWatermark ?? 0;
  if (!(low >= 0 && high >= low)) {
    throw new StoreOptionsError(`gc watermarks: expected 0 <= lowWatermark <= highWatermark, found low ${low}, high ${high}`);
  }
  const gcLock = join(ctx.layout.root, 'gc.lock');
  await lock(gcLock, { signal: opts.signal, what: 'the GC lock' });
  const trash = new Trash(ctx.layout.tmp, opts.dryRun === true);
  try {
    try {
      return await collectLocked(ctx, opts, high, low, trash);
    } finally {
      unlock(gcLock);
    }
  } finally {
    // Also after a failure: what was already moved out is no longer in the store.
    await trash.empty();
  }
}

async function collectLocked(ctx: GcContext, opts: GcOptions, high: number, low: number, trash: Trash): Promise<GcResult> {
  // Roots are read only after taking the lock: a realise that registers its
  // in-flight root before checking the lock is then either seen here or
  // waits for this GC to finish before it looks at the store.
  const orphans: string[] = [];
  const infos = ctx.registry.scan(orphans);
  // Records whose path is gone (a deletion whose record removal failed, or a crash): never roots, never valid.
  for (const base of orphans) removeOrphanRecord(ctx.layout, base);
  const prefix = `${ctx.layout.storeDir}/`;
  const live = liveRoots(ctx, Date.now(), opts.hostRoot ?? '/');
  const keep = reachable(live.roots, infos, ctx.layout.storeDir);
  let total = 0;
  for (const info of infos.values()) total += info.narSize;
  const result: GcResult = { freedBytes: 0, deleted: [], storeBytes: total, triggered: total > high, deletedProfiles: [], containerRoots: live.containers, unmountedViews: [] };
  if (!result.triggered) return result;
  if (!opts.dryRun) result.unmountedViews = unmountDoomedViews(ctx, keep, opts.mountNamespacePids);

  const referrers = new Map<string, string[]>();
  for (const [base, info] of infos) {
    for (const ref of info.references) {
      const refBase = ref.slice(prefix.length);
      if (refBase === base) continue;
      let list = referrers.get(refBase);
      if (!list) referrers.set(refBase, (list = []));
      list.push(base);
    }
  }
  // A warm realise records its use on the closure index entry, not on every path.
  const indexEntries = ctx.closures.entries();
  const lastUse = new Map<string, number>();
  for (const [base, info] of infos) lastUse.set(base, info.lastUse);
  for (const entry of indexEntries) {
    for (const path of entry.closure) {
      const base = path.slice(prefix.length);
      const known = lastUse.get(base);
      if (known !== undefined && known < entry.lastUse) lastUse.set(base, entry.lastUse);
    }
  }
  const candidates = [...infos.keys()]
    .filter((base) => !keep.has(base))
    .map((base) => [base, lastUse.get(base) ?? 0] as const)
    .sort(([a, x], [b, y]) => x - y || (a < b ? -1 : a > b ? 1 : 0));

  const gone = new Set<string>();
  let sinceYield = 0;
  const remove = (base: string): void => {
    if (!opts.dryRun) {
      trash.take(ctx.registry.hostPath(base), base);
      ctx.registry.forget(base);
    }
    gone.add(base);
    const info = infos.get(base) as PathInfo;
    total -= info.narSize;
    result.freedBytes += info.narSize;
    result.deleted.push(info.storePath);
  };
  for (const [candidate] of candidates) {
    if (total <= low) break;
    if (gone.has(candidate)) continue;
    const order = referrersFirst(candidate, referrers, gone);
    for (const base of order) remove(base);
    if ((sinceYield += order.length) >= 512) {
      sinceYield = 0;
      await yieldToLoop();
    }
  }
  if (!opts.dryRun && result.deleted.length > 0) {
    try {
      fsyncDir(ctx.layout.store);
    } catch (err) {
      throw writeFailure(err, 'syncing the store directory after GC', ctx.layout.store);
    }
    result.deletedProfiles = removeBrokenProfiles(ctx, gone, trash);
    for (const entry of indexEntries) {
      if (entry.closure.some((p) => gone.has(p.slice(prefix.length)))) ctx.closures.remove(entry.file);
    }
  }
  return result;
}

/**
 * `base` and everything that (transitively) references it, referrers first
 * (iterative post-order: reference chains can be thousands deep).
 */
function referrersFirst(base: string, referrers: Map<string, string[]>, gone: Set<string>): string[] {
  const order: string[] = [];
  const visiting = new Set<string>([base]);
  const stack: Array<{ base: string; next: number }> = [{ base, next: 0 }];
  while (stack.length > 0) {
    const top = stack[stack.length - 1] as { base: string; next: number };
    const refs = referrers.get(top.base) ?? [];
    if (top.next < refs.length) {
      const r = refs[top.next++] as string;
      if (!gone.has(r) && !visiting.has(r)) {
        visiting.add(r);
        stack.push({ base: r, next: 0 });
      }
    } else {
      stack.pop();
      order.push(top.base);
    }
  }
  return order;
}

/** A profile's closure (its profile.json), or undefined when unreadable. */
function profileClosure(dir: string): string[] | undefined {
  try {
    const closure = (JSON.parse(readFileSync(join(dir, '.flox-k8s', 'profile.json'), 'utf8')) as { closure: unknown }).closure;
    return Array.isArray(closure) && closure.every((p) => typeof p === 'string') ? closure : undefined;
  } catch {
    return undefined;
  }
}

/**
 * Before any path goes: the mounted store view of every profile whose closure is not all
 * reachable is taken down (record first), so no create can bind a view whose entries GC is about
 * to delete. Creates of rooted closures are unaffected: their paths are all in `keep` (a create
 * writes its root and then waits while a GC runs). A view that cannot be unmounted keeps no
 * record, so nothing uses it; its directory is then left for Store.open like other debris.
 */
function unmountDoomedViews(ctx: GcContext, keep: Set<string>, pids: readonly number[] | undefined): string[] {
  const prefix = `${ctx.layout.storeDir}/`;
  const unmounted: string[] = [];
  for (const name of readdirSync(ctx.layout.profiles)) {
    const dir = join(ctx.layout.profiles, name);
    const view = join(dir, STORE_VIEW_DIR);
    if (!existsSync(viewMountsRecord(view))) continue;
    const closure = profileClosure(dir);
    if (closure !== undefined && closure.every((p) => keep.has(p.slice(prefix.length)))) continue;
    try {
      if (unmountStoreView(view, pids) === 'unmounted') unmounted.push(dir);
    } catch {
      // the record is gone: no create binds this view again
    }
  }
  return unmounted;
}

function removeBrokenProfiles(ctx: GcContext, gone: Set<string>, trash: Trash): string[] {
  const removed: string[] = [];
  const prefix = `${ctx.layout.storeDir}/`;
  for (const name of readdirSync(ctx.layout.profiles)) {
    const dir = join(ctx.layout.profiles, name);
    const closure = profileClosure(dir);
    if (closure === undefined) continue;
    if (!closure.some((p) => gone.has(p.slice(prefix.length)))) continue;
    try {
      if (trash.take(dir, `profile-${name}`)) removed.push(dir);
    } catch {
      // Left in place: it is complete again once its closure is realised again.
    }
  }
  return removed;
}
