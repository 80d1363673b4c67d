import { lstatSync, mkdirSync, readFileSync, renameSync, statSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import type { PatchPlan } from '@flox-k8s/oci-patch';
import type { CallerPath } from './context.ts';
import { MountSourceInvalidError } from './errors.ts';
import { verifyMountSources, type SourceMemo } from './mount-sources.ts';

// Warm starts skip parsing the lockfile, opening the store and building the profile:
// the plan of a (lockfile digest, system, mode) is cached beside the store and used
// while every host directory it mounts still exists. Everything in it is derived
// from the digest, so it cannot go stale except by GC, which the check catches
// (cachedPlanUsable, which is also the create's mount-source verification).

type CachedPlan = Omit<PatchPlan, 'applied'>;

/**
 * The store's PROFILE_FORMAT (@flox-k8s/store) that the cached plans were built on: a plan names a
 * profile directory, so plans of another format must not be used. Kept as a literal so the warm
 * path loads nothing of the store; a test checks it equals the store's.
 */
export const PLAN_CACHE_FORMAT = 3;

function planDir(storeRoot: string): string {
  return join(storeRoot, 'shim', `plans-f${PLAN_CACHE_FORMAT}`);
}

function planFile(storeRoot: string, key: { digest: string; system: string; mode: string }): string {
  return join(planDir(storeRoot), `${key.digest}-${key.system}-${key.mode}.json`);
}

// A long-lived process (the node agent's patch service) keeps the plans it read, parsed and
// frozen, while the file has the same inode, size and ctime (a new plan is renamed in: a new
// inode). Shared and frozen, a plan's arrays also key verifyMountSources' memory of its sources.
const MAX_HOT_PLANS = 64;
const hotPlans = new Map<string, { dev: bigint; ino: bigint; size: bigint; ctimeNs: bigint; plan: CachedPlan }>();

/** The cached plan as written, whether or not its mounts still exist (see cachedPlanUsable). */
export function loadCachedPlan(storeRoot: string, key: { digest: string; system: string; mode: string }): CachedPlan | undefined {
  const file = planFile(storeRoot, key);
  let plan: CachedPlan;
  try {
    const st = statSync(file, { bigint: true });
    const hot = hotPlans.get(file);
    if (hot !== undefined && hot.dev === st.dev && hot.ino === st.ino && hot.size === st.size && hot.ctimeNs === st.ctimeNs) return hot.plan;
    plan = JSON.parse(readFileSync(file, 'utf8')) as CachedPlan;
    if (typeof plan?.hostStoreDir !== 'string' || !Array.isArray(plan.storePaths) || typeof plan.profile?.hostPath !== 'string' || typeof plan.storeView?.hostPath !== 'string') {
      return undefined;
    }
    deepFreeze(plan);
    hotPlans.delete(file);
    if (hotPlans.size >= MAX_HOT_PLANS) hotPlans.delete(hotPlans.keys().next().value as string);
    hotPlans.set(file, { dev: st.dev, ino: st.ino, size: st.size, ctimeNs: st.ctimeNs, plan });
  } catch {
    return undefined;
  }
  return plan;
}

function deepFreeze(value: unknown): void {
  if (typeof value !== 'object' || value === null || Object.isFrozen(value)) return;
  Object.freeze(value);
  for (const v of Object.values(value)) deepFreeze(v);
}

/**
 * Whether a cached plan can be used as it is: true when every mount source passes
 * verifyMountSources (through the caller's root) and every symlink store path (an entry of the
 * view, not mounted) is still there; false when one is missing (a GC took it: realise again).
 * Any other refusal (a source replaced by a symlink, an unsafe parent) is thrown: a new realise
 * would not make it safe. One lstat per path, done once per create: the existence check the
 * plan needs and the security check runc needs are the same walk.
 */
export function cachedPlanUsable(plan: CachedPlan, storeRoot: string, callerPath: CallerPath, memo: SourceMemo = { now: Date.now }): boolean {
  try {
    verifyMountSources(plan, storeRoot, callerPath, memo);
    for (const storePath of plan.storeView.symlinks) lstatSync(callerPath(join(plan.hostStoreDir, storePath.slice('/nix/store/'.length))));
  } catch (error) {
    if (error instanceof MountSourceInvalidError && error.problem === 'missing') return false;
    if ((error as NodeJS.ErrnoException).code === 'ENOENT') return false;
    throw error;
  }
  return true;
}

/** Caches a plan whose every part depends only on the key (not on the image). */
export function writeCachedPlan(storeRoot: string, key: { digest: string; system: string; mode: string }, plan: PatchPlan): void {
  const { applied: _applied, ...cached } = plan;
  const file = planFile(storeRoot, key);
  try {
    mkdirSync(planDir(storeRoot), { recursive: true });
    const tmp = `${file}.tmp-${process.pid}`;
    writeFileSync(tmp, JSON.stringify(cached));
    renameSync(tmp, file);
  } catch {
    // a cache: the next start takes the slow path
  }
}
