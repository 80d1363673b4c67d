import { posix } from 'node:path';
import { isStorePath, STORE_DIR, type EnvMerge } from '@flox-k8s/core';
import { z } from 'zod';
import { OciPatchPlanInvalidError } from './errors.ts';
import { firstIssue } from './issues.ts';

/** The in-container store directory every closure path is mounted under (`@flox-k8s/core`'s). */
export { STORE_DIR };

/** How one activation variable combines with what the container already sets (`@flox-k8s/core`'s rule). */
export type { EnvMerge };

/** One variable of the activation environment, in activation order. */
export interface PlanVariable {
  name: string;
  value: string;
  merge: EnvMerge;
}

/** Everything patchSpec / patchExecProcess need: where the closure is and what to activate. */
export interface PatchPlan {
  /** Host directory holding `<hash>-<name>` for every store path (e.g. `/var/lib/flox-k8s/store`). */
  hostStoreDir: string;
  /** The closure: `/nix/store/<hash>-<name>` paths; each is mounted read-only at the same place, unless it is a symlink. */
  storePaths: string[];
  /**
   * The container's `/nix/store`: a host directory mounted read-only over it, holding one entry per
   * closure path (the store builds it with the profile). A directory or regular-file store path
   * finds its mount point there; a store path whose root is a symlink (listed in `symlinks`) is
   * that symlink, with the same target, and is never bind-mounted: a bind mount would follow it
   * on the host, while in the container the link resolves against the container's own mounts.
   */
  storeView: StoreView;
  /** The merged profile: host directory and where it appears in the container. */
  profile: { hostPath: string; containerPath: string };
  /** Activation environment, applied in order. */
  env: PlanVariable[];
  /** In-container shell and hook script: argv becomes `[shell, script, ...argv]`. */
  wrapper?: { shell: string; script: string };
  /** What gets recorded in the `flox.dev/applied-environment` and `flox.dev/lockfile-digest` annotations. */
  applied: { environment: string; digest: string };
  /**
   * In-container directories that get a fresh tmpfs of their own, owned by the process's
   * user (`$FLOX_ENV_CACHE`); a directory the container already mounts something at keeps it.
   */
  tmpfs?: string[];
  /** `flox.dev/nix-mutable`: a writable overlay over the closure, for this container only (see nixMutableMounts). */
  nixMutable?: NixMutablePlan;
}

/**
 * Where the writes of a `flox.dev/nix-mutable` container go: `scratchDir` is a host directory
 * of this container alone (see `nixMutableScratchDirs` for what must exist in it),
 * `storeLower` the read-only lower layer of `/nix/store` itself (an empty directory, or the
 * image's own `/nix/store`), `directories` the closure paths that are directories (each gets
 * an overlay; files and symlinks stay read-only binds).
 */
export interface NixMutablePlan {
  scratchDir: string;
  storeLower: string;
  directories: string[];
}

/** The host side of the container's `/nix/store` (see `PatchPlan.storeView`). */
export interface StoreView {
  /** Host directory mounted at `/nix/store`: an empty directory or file per mounted path, the symlinks themselves. */
  hostPath: string;
  /** Closure paths whose root is a symlink: present in the view, not bind-mounted. */
  symlinks: string[];
  /**
   * The host has bind-mounted every other closure path onto its entry already (a mounted view,
   * `@flox-k8s/store`'s view-mounts): the recursive bind of the view carries them all, and no
   * per-path mount is added. Never with `nixMutable`, which overlays each path.
   */
  mounted?: boolean;
}

/** A store path split into its parts. */
export interface StorePathParts {
  path: string;
  base: string;
  hash: string;
  name: string;
}

/**
 * Splits `/nix/store/<hash>-<name>`; `undefined` when it is not a valid store path.
 * Kept for compatibility: the rule is `@flox-k8s/core`'s `isStorePath` (predicate) and
 * `parseStorePath` (throws `FLOXK8S_STORE_PATH_INVALID`).
 * @deprecated Use `isStorePath` / `parseStorePath` from `@flox-k8s/core`.
 */
export function parseStorePath(path: string): StorePathParts | undefined {
  if (!isStorePath(path)) return undefined;
  const base = path.slice(STORE_DIR.length + 1);
  return { path, base, hash: base.slice(0, 32), name: base.slice(33) };
}

const noNul = (s: string): boolean => !s.includes('\0');

// Host and container paths must be absolute, already normalised (no '.', '..', '//',
// trailing '/') and not '/': anything else could widen a bind mount beyond what was meant.
const cleanPath = z
  .string()
  .check(
    z.refine((p) => p.startsWith('/') && p !== '/' && posix.normalize(p) === p && !p.endsWith('/') && noNul(p), {
      message: 'expected an absolute, normalised path other than /',
    }),
  );

const STORE_PATH_MESSAGE = 'expected /nix/store/<32 nix32 chars>-<name>';

const planVariable = z.object({
  name: z.string().check(z.refine((n) => n.length > 0 && !n.includes('=') && noNul(n), { message: 'expected a variable name without = or NUL' })),
  value: z.string().check(z.refine(noNul, { message: 'expected a value without NUL' })),
  merge: z.enum(['prepend', 'set', 'default']),
});

// Overlay options are `key=value` pairs joined by ',' with ':' separating lower layers; runc
// passes them to the kernel as they are, so a path holding either would change their meaning.
const overlayPath = cleanPath.check(z.refine((p) => !/[,:]/.test(p), { message: 'expected a path without "," or ":" (overlay mount options)' }));

const planSchema = z.object({
  hostStoreDir: cleanPath,
  // Checked in a plain loop below: a closure has thousands of paths and a per-element
  // zod refinement costs more than the rest of patchSpec.
  storePaths: z.array(z.string()),
  storeView: z.object({ hostPath: cleanPath, symlinks: z.array(z.string()), mounted: z.optional(z.boolean()) }),
  profile: z.object({
    hostPath: cleanPath,
    // The store view owns /nix/store: the container sees exactly the closure there.
    containerPath: cleanPath.check(
      z.refine((p) => !`${STORE_DIR}/`.startsWith(`${p}/`) && !p.startsWith(`${STORE_DIR}/`), {
        message: `expected a path outside ${STORE_DIR} that does not contain it`,
      }),
    ),
  }),
  env: z.array(planVariable),
  wrapper: z.optional(z.object({ shell: cleanPath, script: cleanPath })),
  applied: z.object({
    environment: z.string().check(z.refine((e) => e.length > 0 && noNul(e), { message: 'expected a non-empty environment reference' })),
    digest: z.string().check(z.refine((d) => /^(sha256:)?[0-9a-f]{64}$/.test(d), { message: 'expected a lowercase 64-hex sha256 digest' })),
  }),
  tmpfs: z.optional(
    z.array(cleanPath.check(z.refine((p) => p !== '/nix' && !p.startsWith('/nix/'), { message: 'expected a directory outside /nix' }))),
  ),
  nixMutable: z.optional(z.object({ scratchDir: overlayPath, storeLower: overlayPath, directories: z.array(z.string()) })),
});

const execPlanSchema = planSchema.pick({ env: true, wrapper: true });

/** The part of a plan `runc exec` uses (environment and wrapper), validated; throws OciPatchPlanInvalidError. */
export function validateExecPlan(plan: unknown): Pick<PatchPlan, 'env' | 'wrapper'> {
  const result = execPlanSchema.safeParse(plan);
  if (!result.success) {
    const { path, message } = firstIssue(result.error);
    throw new OciPatchPlanInvalidError(path, message, { cause: result.error });
  }
  return result.data;
}

/** Validates a plan (it carries lockfile-derived, untrusted store paths); throws OciPatchPlanInvalidError. */
export function validatePatchPlan(plan: unknown): PatchPlan {
  const result = planSchema.safeParse(plan);
  if (!result.success) {
    const { path, message } = firstIssue(result.error);
    throw new OciPatchPlanInvalidError(path, message, { cause: result.error });
  }
  const valid = result.data;
  for (const [i, storePath] of valid.storePaths.entries()) {
    if (!isStorePath(storePath)) throw new OciPatchPlanInvalidError(`storePaths[${i}]`, STORE_PATH_MESSAGE);
  }
  const closure = new Set(valid.storePaths);
  for (const [i, link] of valid.storeView.symlinks.entries()) {
    if (!closure.has(link)) throw new OciPatchPlanInvalidError(`storeView.symlinks[${i}]`, 'expected a store path of the closure (storePaths)');
  }
  // Mounting the host store directory (or an ancestor) whole would show the container every path in it.
  for (const [name, source] of [['storeView.hostPath', valid.storeView.hostPath], ['profile.hostPath', valid.profile.hostPath]] as const) {
    if (`${valid.hostStoreDir}/`.startsWith(`${source}/`)) {
      throw new OciPatchPlanInvalidError(name, `expected a directory that does not contain hostStoreDir (${valid.hostStoreDir})`);
    }
  }
  for (const [i, dir] of (valid.tmpfs ?? []).entries()) {
    const profile = valid.profile.containerPath;
    if (dir === profile || dir.startsWith(`${profile}/`) || profile.startsWith(`${dir}/`)) {
      throw new OciPatchPlanInvalidError(`tmpfs[${i}]`, `expected a directory apart from the profile at ${profile}`);
    }
  }
  if (valid.nixMutable !== undefined && valid.storeView.mounted === true) {
    throw new OciPatchPlanInvalidError('storeView.mounted', 'a nix-mutable container overlays each store path: its view cannot be a mounted one');
  }
  if (valid.nixMutable !== undefined) {
    for (const [name, dir] of [['hostStoreDir', valid.hostStoreDir], ['storeView.hostPath', valid.storeView.hostPath]] as const) {
      if (/[,:]/.test(dir)) throw new OciPatchPlanInvalidError(name, 'expected a path without "," or ":" (overlay mount options)');
    }
    for (const [i, dir] of valid.nixMutable.directories.entries()) {
      if (!closure.has(dir)) throw new OciPatchPlanInvalidError(`nixMutable.directories[${i}]`, 'expected one of storePaths');
    }
  }
  return valid;
}
