import { lstatSync, statSync, type Stats } from 'node:fs';
import { posix } from 'node:path';
import type { PatchPlan } from '@flox-k8s/oci-patch';
import { MountSourceInvalidError, type MountSourceProblem } from './errors.ts';
import type { CallerPath } from './context.ts';

// runc resolves a bind mount's source on the host and follows symlinks in it (its symlink
// protections are for destinations, inside the rootfs). So every source is checked here,
// right before runc runs, without following symlinks:
//
// - each is a directory or a regular file (lstat), inside the store root;
// - every directory from / down to it is a real directory (not a symlink) owned by root (or by
//   this process's user) and writable by no one else, except a sticky directory (/tmp) whose
//   next component is owned by root: so between this check and runc's mount, only root can
//   swap a source for a symlink, and root can rewrite config.json anyway;
// - the store never replaces a path in place: a path is renamed in once, complete, and renamed
//   out by GC (runc's mount then fails: ENOENT, never a host file); a symlink store path is an
//   entry of the store view and never a mount source.
//
// Checked through the caller's root (`/proc/<pid>/root/…` for the node agent's patch service),
// so the paths are the ones runc sees. Costs one lstat per mount plus one per directory above.

/**
 * Checks every host path the plan mounts (store paths but symlinks, store view, profile);
 * throws MountSourceInvalidError (`FLOXK8S_MOUNT_SOURCE_INVALID`) naming the first bad one.
 */
export function verifyMountSources(plan: Pick<PatchPlan, 'hostStoreDir' | 'storePaths' | 'storeView' | 'profile'>, storeRoot: string, callerPath: CallerPath = (p) => p): void {
  const trusted = new Set([0, process.getuid?.() ?? 0]);
  const checked = new Map<string, Stats>();
  const inStore = (path: string): boolean => path.startsWith(`${storeRoot}/`);
  // The parent of `name` must not let anyone but root rename it away or plant something in its
  // place: not writable by group or others, unless sticky (/tmp) with `name` owned by root.
  const guarded = (parent: string, parentStat: Stats, name: string, st: Stats, what: string): void => {
    if ((parentStat.mode & 0o022) === 0) return;
    if ((parentStat.mode & 0o1000) !== 0 && trusted.has(st.uid)) return;
    fail(name, 'unsafe-parent', `${what}: ${parent} on its way is writable by group or others (mode ${(parentStat.mode & 0o7777).toString(8)}), so ${name} could be replaced; make it 0755`);
  };
  const directory = (dir: string, what: string): Stats => {
    const known = checked.get(dir);
    if (known !== undefined) return known;
    const parent = posix.dirname(dir);
    const parentStat = dir === '/' ? undefined : directory(parent, what);
    // The caller's root itself is a magic link under /proc: stat, not lstat.
    const st = look(dir, what, dir === '/' ? statSync : lstatSync, callerPath);
    if (!st.isDirectory()) fail(dir, 'unsafe-parent', `${what}: ${dir} on its way is ${kind(st)}, not a directory; point storeRoot at the real path`);
    if (!trusted.has(st.uid)) fail(dir, 'unsafe-parent', `${what}: ${dir} on its way is owned by uid ${st.uid}; only root may own the directories above mount sources`);
    if (parentStat !== undefined) guarded(parent, parentStat, dir, st, what);
    checked.set(dir, st);
    return st;
  };
  const source = (path: string, what: string, allowFile: boolean): void => {
    if (!inStore(path)) fail(path, 'outside-store', `${what}: ${path} is outside the store root ${storeRoot}`);
    const parent = posix.dirname(path);
    const parentStat = directory(parent, what);
    const st = look(path, what, lstatSync, callerPath);
    if (st.isDirectory() || (allowFile && st.isFile())) return guarded(parent, parentStat, path, st, what);
    const problem: MountSourceProblem = st.isSymbolicLink() ? 'symlink' : allowFile ? 'not-a-directory-or-file' : 'not-a-directory';
    fail(path, problem, `${what}: ${path} is ${kind(st)}; the store made ${allowFile ? 'a directory or a file' : 'a directory'} there, so it was replaced after realise: remove it and realise again`);
  };

  if (!storeRoot.startsWith('/') || posix.normalize(storeRoot) !== storeRoot) fail(storeRoot, 'outside-store', `store root ${storeRoot} is not an absolute, normalised path`);
  source(plan.storeView.hostPath, 'the store view', false);
  source(plan.profile.hostPath, 'the profile', false);
  const symlinks = new Set(plan.storeView.symlinks);
  for (const storePath of plan.storePaths) {
    if (symlinks.has(storePath)) continue;
    source(`${plan.hostStoreDir}/${storePath.slice('/nix/store/'.length)}`, `store path ${storePath}`, true);
  }
}

function look(path: string, what: string, stat: typeof lstatSync, callerPath: CallerPath): Stats {
  try {
    return stat(callerPath(path));
  } catch (cause) {
    const code = (cause as NodeJS.ErrnoException).code ?? 'error';
    return fail(path, 'missing', `${what}: ${path} cannot be examined (${code}); realise the environment again`, cause);
  }
}

function kind(st: Stats): string {
  return st.isSymbolicLink() ? 'a symlink' : st.isDirectory() ? 'a directory' : st.isFile() ? 'a regular file' : 'a special file';
}

function fail(source: string, problem: MountSourceProblem, message: string, cause?: unknown): never {
  throw new MountSourceInvalidError(source, problem, `mount source refused: ${message}`, cause === undefined ? undefined : { cause });
}
