import { posix } from 'node:path';
import { OciMountCollisionError } from './errors.ts';
import { STORE_DIR, type PatchPlan } from './plan.ts';
import type { Mount } from './spec-schema.ts';

/** Options of every mount we add: recursive bind, read-only, no setuid, no device nodes. */
export const STORE_MOUNT_OPTIONS: readonly string[] = Object.freeze(['rbind', 'ro', 'nosuid', 'nodev']);

/** The mounts a plan adds: one per closure path plus the profile, sorted by destination, unique. */
export function planMounts(plan: PatchPlan): Mount[] {
  // Default sort compares UTF-16 code units, which puts a parent before its children:
  // the order runc must mount them in. validatePatchPlan has checked every store path,
  // so the base name is everything after `/nix/store/` and has no '/' and no '..'.
  const storePaths = [...new Set(plan.storePaths)].sort();
  const profile = bindMount(plan.profile.containerPath, plan.profile.hostPath);
  const mounts: Mount[] = [];
  let profileAdded = false;
  for (const storePath of storePaths) {
    if (!profileAdded && profile.destination < storePath) {
      mounts.push(profile);
      profileAdded = true;
    }
    mounts.push(bindMount(storePath, `${plan.hostStoreDir}/${storePath.slice(STORE_DIR.length + 1)}`));
  }
  if (!profileAdded) mounts.push(profile);
  return mounts;
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
