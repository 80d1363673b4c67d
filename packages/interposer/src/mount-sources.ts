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

type PlanSources = Pick<PatchPlan, 'hostStoreDir' | 'storePaths' | 'storeView' | 'profile'>;

/**
 * What a long-lived verifier (the node agent's patch service) may remember between creates of
 * the same cached plan: the directories holding its sources as they were when every source in
 * them was found to be what the store made. A source cannot become something else (a symlink,
 * a FIFO, gone) without an entry of its directory changing (rename, unlink, symlink, mkdir), which
 * sets that directory's mtime and ctime; ctime cannot be set back (utimes sets it to now). So
 * while each such directory has the same device, inode and ctime, its sources need no new lstat.
 * Every directory from / down is still checked on every create (owner, mode, not a symlink).
 */
export interface SourceMemo {
  /** Wall clock in ms (ctimes are wall-clock based). */
  now: () => number;
}

interface Snapshot {
  /** The plan the sources came from (the same arrays: cached plans are shared, frozen). */
  symlinks: readonly string[];
  profile: string;
  view: string;
  hostStoreDir: string;
  dirs: Array<{ path: string; dev: bigint; ino: bigint; ctimeNs: bigint }>;
}

// ctime comes from the kernel's coarse clock (one tick, up to ~10 ms): a change in the same tick
// as the snapshot could leave ctime unchanged. So, as racy-git does, a directory whose ctime is
// this close to the walk's start is not remembered.
const SETTLE_MS = 1000;
const snapshots = new WeakMap<readonly string[], Snapshot>();

/**
 * Checks every host path the plan mounts (store paths but symlinks, store view, profile);
 * throws MountSourceInvalidError (`FLOXK8S_MOUNT_SOURCE_INVALID`) naming the first bad one.
 * With `memo`, a plan whose source directories are unchanged since a full check (see
 * SourceMemo) skips the lstat of each source; everything above them is checked again.
 */
export function verifyMountSources(plan: PlanSources, storeRoot: string, callerPath: CallerPath = (p) => p, memo?: SourceMemo): void {
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
    const st = look(dir, what, (p) => (dir === '/' ? statSync(p) : lstatSync(p)), callerPath);
    if (!st.isDirectory()) fail(dir, 'unsafe-parent', `${what}: ${dir} on its way is ${kind(st)}, not a directory; point storeRoot at the real path`);
    if (!trusted.has(st.uid)) fail(dir, 'unsafe-parent', `${what}: ${dir} on its way is owned by uid ${st.uid}; only root may own the directories above mount sources`);
    if (parentStat !== undefined) guarded(parent, parentStat, dir, st, what);
    checked.set(dir, st);
    return st;
  };
  const source = (path: string, what: string, allowFile: boolean): void => {
    const parent = posix.dirname(path);
    const parentStat = directory(parent, what);
    const st = look(path, what, (p) => lstatSync(p), callerPath);
    if (st.isDirectory() || (allowFile && st.isFile())) return guarded(parent, parentStat, path, st, what);
    const problem: MountSourceProblem = st.isSymbolicLink() ? 'symlink' : allowFile ? 'not-a-directory-or-file' : 'not-a-directory';
    fail(path, problem, `${what}: ${path} is ${kind(st)}; the store made ${allowFile ? 'a directory or a file' : 'a directory'} there, so it was replaced after realise: remove it and realise again`);
  };

  if (!storeRoot.startsWith('/') || posix.normalize(storeRoot) !== storeRoot) fail(storeRoot, 'outside-store', `store root ${storeRoot} is not an absolute, normalised path`);
  const sources: Array<{ path: string; what: string; allowFile: boolean }> = [
    { path: plan.storeView.hostPath, what: 'the store view', allowFile: false },
    { path: plan.profile.hostPath, what: 'the profile', allowFile: false },
  ];
  const symlinks = new Set(plan.storeView.symlinks);
  for (const storePath of plan.storePaths) {
    if (!symlinks.has(storePath)) sources.push({ path: `${plan.hostStoreDir}/${storePath.slice('/nix/store/'.length)}`, what: `store path ${storePath}`, allowFile: true });
  }
  for (const { path, what } of sources) if (!inStore(path)) fail(path, 'outside-store', `${what}: ${path} is outside the store root ${storeRoot}`);
  if (memo === undefined) {
    for (const { path, what, allowFile } of sources) source(path, what, allowFile);
    return;
  }
  // Every directory above the sources, checked as on every create.
  const parents = [...new Set(sources.map((s) => posix.dirname(s.path)))];
  for (const parent of parents) directory(parent, `the directory ${parent}`);
  const dirs = parents.map((path) => {
    const st = look(path, `the directory ${path}`, (p) => lstatSync(p, { bigint: true }), callerPath);
    return { path, dev: st.dev, ino: st.ino, ctimeNs: st.ctimeNs };
  });
  const known = snapshots.get(plan.storePaths);
  const same = (a: Snapshot['dirs'], b: Snapshot['dirs']): boolean => a.length === b.length && a.every((d, i) => d.path === b[i]?.path && d.dev === b[i]?.dev && d.ino === b[i]?.ino && d.ctimeNs === b[i]?.ctimeNs);
  if (
    known !== undefined &&
    known.symlinks === plan.storeView.symlinks &&
    known.profile === plan.profile.hostPath &&
    known.view === plan.storeView.hostPath &&
    known.hostStoreDir === plan.hostStoreDir &&
    same(known.dirs, dirs)
  ) {
    return;
  }
  snapshots.delete(plan.storePaths);
  const walkStart = memo.now();
  for (const { path, what, allowFile } of sources) source(path, what, allowFile);
  // Not remembered: a directory changed too recently to trust its ctime, or one writable by
  // others (then each source's owner matters, and a chown changes only the source's ctime).
  const settled = dirs.every((d) => Number(d.ctimeNs / 1_000_000n) < walkStart - SETTLE_MS);
  const closed = parents.every((p) => ((checked.get(p) as Stats).mode & 0o022) === 0);
  if (settled && closed) {
    snapshots.set(plan.storePaths, { symlinks: plan.storeView.symlinks, profile: plan.profile.hostPath, view: plan.storeView.hostPath, hostStoreDir: plan.hostStoreDir, dirs });
  }
}

function look<S>(path: string, what: string, stat: (path: string) => S, callerPath: CallerPath): S {
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
