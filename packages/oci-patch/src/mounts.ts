import { posix } from 'node:path';
import { OciMountCollisionError } from './errors.ts';
import { STORE_DIR, type PatchPlan } from './plan.ts';
import type { Mount } from './spec-schema.ts';

/** Options of every mount we add: recursive bind, read-only, no setuid, no device nodes. */
export const STORE_MOUNT_OPTIONS: readonly string[] = Object.freeze(['rbind', 'ro', 'nosuid', 'nodev']);

/**
 * The mounts a plan adds, sorted by destination (parents first: the order runc mounts them in):
 * the store view at `/nix/store`, one bind mount per closure path whose root is not a symlink
 * (symlinks are entries of the view), and the profile. A mounted view (`storeView.mounted`)
 * carries the closure's mounts itself: then only the view and the profile.
 */
export function planMounts(plan: PatchPlan): Mount[] {
  // validatePatchPlan has checked every store path, so the base name is everything after
  // `/nix/store/` and has no '/' and no '..'.
  const symlinks = new Set(plan.storeView.symlinks);
  const mounts: Mount[] = [bindMount(STORE_DIR, plan.storeView.hostPath), bindMount(plan.profile.containerPath, plan.profile.hostPath)];
  if (plan.storeView.mounted === true) return mounts.sort((a, b) => (a.destination < b.destination ? -1 : a.destination > b.destination ? 1 : 0));
  for (const storePath of new Set(plan.storePaths)) {
    if (!symlinks.has(storePath)) mounts.push(bindMount(storePath, `${plan.hostStoreDir}/${storePath.slice(STORE_DIR.length + 1)}`));
  }
  // Default sort compares UTF-16 code units, which puts a parent before its children.
  return mounts.sort((a, b) => (a.destination < b.destination ? -1 : a.destination > b.destination ? 1 : 0));
}

function bindMount(destination: string, source: string): Mount {
  return { destination, type: 'bind', source, options: [...STORE_MOUNT_OPTIONS] };
}

function isUnderNix(destination: string): boolean {
  return destination === '/nix' || destination.startsWith('/nix/');
}

/**
 * The container's mounts with ours added. Existing mounts keep their order; ours go
 * last (so nothing the pod mounts at /nix can shadow them), sorted. An existing mount
 * at one of our destinations is dropped when it is under /nix (the closure owns its
 * store paths; this also removes our own mounts from an earlier patch) and is a
 * FLOXK8S_MOUNT_COLLISION anywhere else. `copy` is applied to each kept mount.
 */
export function mergeMounts(existing: readonly Mount[], ours: readonly Mount[], copy: (m: Mount) => Mount = (m) => m): Mount[] {
  const destinations = new Set(ours.map((m) => m.destination));
  const kept: Mount[] = [];
  for (const mount of existing) {
    const destination = normaliseDestination(mount.destination);
    if (!destinations.has(destination)) {
      kept.push(copy(mount));
      continue;
    }
    if (!isUnderNix(destination) && !sameMount(mount, ours.find((m) => m.destination === destination))) {
      throw new OciMountCollisionError(destination, mount);
    }
  }
  return [...kept, ...ours];
}

function normaliseDestination(destination: string): string {
  const normal = posix.normalize(destination);
  return normal.length > 1 && normal.endsWith('/') ? normal.slice(0, -1) : normal;
}

function sameMount(a: Mount, b: Mount | undefined): boolean {
  if (b === undefined) return false;
  const keys = Object.keys(a);
  if (keys.length !== Object.keys(b).length) return false;
  return (
    a.type === b.type &&
    a.source === b.source &&
    normaliseDestination(a.destination) === b.destination &&
    JSON.stringify(a.options) === JSON.stringify(b.options) &&
    keys.every((k) => k in b)
  );
}
