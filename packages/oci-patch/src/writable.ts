// The writable parts a plan may add to a container: per-container tmpfs directories
// ($FLOX_ENV_CACHE) and, for flox.dev/nix-mutable, overlays over the closure. The node
// store is only ever a lower (read-only) layer; every write lands in the container's own
// scratch directory or tmpfs.
import { posix } from 'node:path';
import { STORE_DIR, type NixMutablePlan, type PatchPlan } from './plan.ts';
import type { Mount, Spec } from './spec-schema.ts';

/** Flags of every writable mount we add: no setuid binaries, no device nodes. */
const WRITABLE_FLAGS: readonly string[] = ['nosuid', 'nodev'];

/** The process's uid and gid (0 when the spec names none). */
export function processUser(spec: Spec): { uid: number; gid: number } {
  const user = (spec.process as { user?: { uid?: unknown; gid?: unknown } } | undefined)?.user;
  const id = (v: unknown): number => (typeof v === 'number' && Number.isSafeInteger(v) && v >= 0 ? v : 0);
  return { uid: id(user?.uid), gid: id(user?.gid) };
}

/**
 * A tmpfs for each `plan.tmpfs` directory, owned by the process's user, except where the
 * container already mounts something (a pod volume there wins: it may want the cache on disk
 * or kept across restarts). These go before the closure mounts, so a second patch sees them
 * as the container's own and leaves them where they are (patchSpec stays idempotent).
 */
export function tmpfsMounts(plan: PatchPlan, existing: readonly Mount[], user: { uid: number; gid: number }): Mount[] {
  const taken = new Set(existing.map((m) => normalise(m.destination)));
  return [...new Set(plan.tmpfs ?? [])]
    .filter((dir) => !taken.has(dir))
    .sort()
    .map((destination) => ({
      destination,
      type: 'tmpfs',
      source: 'tmpfs',
      options: [...WRITABLE_FLAGS, 'mode=0755', `uid=${user.uid}`, `gid=${user.gid}`],
    }));
}

/** Upper and work directory of one overlay; both must exist, empty, on the same file system. */
export interface OverlayScratch {
  upper: string;
  work: string;
}

/**
 * The directories a nix-mutable container's scratch directory must hold before runc mounts:
 * one upper/work pair for `/nix/store` itself and one per directory of the closure. The caller
 * creates them; this is the one place their names are decided.
 */
export function nixMutableScratchDirs(mutable: NixMutablePlan): { store: OverlayScratch; paths: Array<OverlayScratch & { storePath: string }> } {
  const pair = (dir: string): OverlayScratch => ({ upper: `${dir}/upper`, work: `${dir}/work` });
  return {
    store: pair(`${mutable.scratchDir}/store`),
    paths: [...new Set(mutable.directories)].sort().map((storePath) => ({ storePath, ...pair(`${mutable.scratchDir}/paths/${baseOf(storePath)}`) })),
  };
}

/**
 * `flox.dev/nix-mutable`: `/nix/store` becomes an overlay instead of the read-only store view
 * (lowers: the view, with the closure's entries, over `storeLower`, the image's own store or an
 * empty directory), and each directory of the closure an overlay whose lower is its node-store
 * copy, instead of a read-only bind. One lower layer per overlay, so no closure size
 * reaches overlayfs's layer limit (500) or the one-page limit of mount options. Store paths that
 * are files or symlinks keep their read-only mounts. Returns the mounts sorted by destination.
 */
export function nixMutableMounts(ours: readonly Mount[], plan: PatchPlan): Mount[] {
  const mutable = plan.nixMutable;
  if (mutable === undefined) return [...ours];
  const dirs = nixMutableScratchDirs(mutable);
  const byPath = new Map(dirs.paths.map((d) => [d.storePath, d]));
  const mounts = ours.map((mount) => {
    // The view's symlinks and mount points stay what the container sees; its writes go to the scratch.
    if (mount.destination === STORE_DIR) return overlay(STORE_DIR, `${plan.storeView.hostPath}:${mutable.storeLower}`, dirs.store);
    const scratch = byPath.get(mount.destination);
    return scratch === undefined ? mount : overlay(mount.destination, `${plan.hostStoreDir}/${baseOf(mount.destination)}`, scratch);
  });
  // Parents before children: /nix/store before /nix/store/<hash>-<name>.
  return mounts.sort((a, b) => (a.destination < b.destination ? -1 : a.destination > b.destination ? 1 : 0));
}

function overlay(destination: string, lower: string, scratch: OverlayScratch): Mount {
  return {
    destination,
    type: 'overlay',
    source: 'overlay',
    options: [`lowerdir=${lower}`, `upperdir=${scratch.upper}`, `workdir=${scratch.work}`, ...WRITABLE_FLAGS],
  };
}

function baseOf(storePath: string): string {
  return storePath.slice(STORE_DIR.length + 1);
}

function normalise(destination: string): string {
  const normal = posix.normalize(destination);
  return normal.length > 1 && normal.endsWith('/') ? normal.slice(0, -1) : normal;
}
