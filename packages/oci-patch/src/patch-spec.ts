import { ANNOTATIONS } from './annotations.ts';
import { mergeEnvironment } from './env.ts';
import { OciSpecAlreadyPatchedError } from './errors.ts';
import { mergeMounts, planMounts } from './mounts.ts';
import { validatePatchPlan, type PatchPlan } from './plan.ts';
import { parseSpec, type Process, type Spec } from './spec-schema.ts';
import { wrapArgs } from './wrapper.ts';
import { nixMutableMounts, processUser, tmpfsMounts } from './writable.ts';

/**
 * Returns a new spec that mounts the closure and activates the environment; the input
 * is not modified and every field we do not touch is kept verbatim (same key order).
 *
 * - the store view at `/nix/store`, one bind mount per closure path that is not a symlink
 *   at `/nix/store/<hash>-<name>` from `${hostStoreDir}/<hash>-<name>`, plus the profile,
 *   options `rbind,ro,nosuid,nodev`, appended after the container's own mounts, sorted by
 *   destination, de-duplicated;
 * - `process.env` merged as documented on mergeEnvironment (prepend / set / default);
 * - `plan.tmpfs` directories as tmpfs mounts of the process's user (unless the container mounts them);
 * - with `plan.nixMutable`, overlays over `/nix/store` and each directory of the closure instead;
 * - `process.args` wrapped as `[shell, script, ...args]` only when `plan.wrapper` is set;
 * - annotations `flox.dev/applied-environment` and `flox.dev/lockfile-digest`.
 *
 * Idempotent: patching the result with the same plan returns an equal spec.
 * Throws OciSpecInvalidError, OciPatchPlanInvalidError, OciMountCollisionError, or
 * OciSpecAlreadyPatchedError when the spec records a different applied environment.
 */
export function patchSpec(spec: unknown, plan: PatchPlan): Spec {
  const valid = validatePatchPlan(plan);
  const original = parseSpec(spec);
  const annotations = original.annotations ?? {};
  const applied = annotations[ANNOTATIONS.appliedEnvironment];
  const digest = annotations[ANNOTATIONS.lockfileDigest];
  if (
    (applied !== undefined || digest !== undefined) &&
    (applied !== valid.applied.environment || digest !== valid.applied.digest)
  ) {
    throw new OciSpecAlreadyPatchedError({ environment: applied, digest }, valid.applied);
  }

  // A deep copy, so the caller's object and ours never share mutable parts; field by
  // field (same key order) so the container's own mounts that we drop are never copied.
  const out = {} as Spec;
  for (const key of Object.keys(original)) out[key] = key === 'mounts' ? undefined : clone(original[key]);
  const existing = original.mounts ?? [];
  const ours = [...tmpfsMounts(valid, existing, processUser(original)), ...nixMutableMounts(planMounts(valid), valid)];
  out.mounts = mergeMounts(existing, ours, structuredClone);
  if (out.process !== undefined) out.process = patchProcess(out.process, valid, 'process.args');
  out.annotations = {
    ...out.annotations,
    [ANNOTATIONS.appliedEnvironment]: valid.applied.environment,
    [ANNOTATIONS.lockfileDigest]: valid.applied.digest,
  };
  return out;
}

function clone<T>(value: T): T {
  return typeof value === 'object' && value !== null ? structuredClone(value) : value;
}

/** env + args of one process; shared with patchExecProcess. */
export function patchProcess(proc: Process, plan: Pick<PatchPlan, 'env' | 'wrapper'>, argsPath: string): Process {
  const patched: Process = { ...proc };
  const env = mergeEnvironment(proc.env ?? [], plan.env);
  if (proc.env !== undefined || env.length > 0) patched.env = env;
  const args = wrapArgs(proc.args, plan.wrapper, argsPath);
  if (args !== undefined) patched.args = args;
  return patched;
}
