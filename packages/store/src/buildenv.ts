import { lstatSync, mkdirSync, readdirSync, readFileSync, readlinkSync, statSync, symlinkSync, unlinkSync, type Stats } from 'node:fs';
import { join, posix } from 'node:path';
import { ProfileCollisionError, ProfileConflictError } from './errors.ts';

/** One package to merge: its outputs (in-container store paths) and its priority (lower wins). */
export interface BuildEnvPackage {
  /** Names the package in conflict errors (the lockfile's install id). */
  name: string;
  paths: readonly string[];
  priority: number;
}

/** Maps in-container paths under the store dir to host paths; undefined outside the store. */
export type HostMapper = (containerPath: string) => string | undefined;

// Files Nix's buildenv leaves out of profiles (src/libstore/builtins/buildenv.cc):
// useless in a profile, or colliding between every package that has them.
const SKIPPED_SUFFIXES = ['/propagated-build-inputs', '/nix-support', '/perllocal.pod', '/info/dir', '/log', '/manifest.nix', '/manifest.json'];
const MAX_SYMLINK_HOPS = 40;

/**
 * Resolves an in-container path through symlinks, reading the host copies.
 * Undefined when it dangles or leaves the store (it would dangle in the container too).
 */
export function canonicalContainerPath(path: string, toHost: HostMapper): string | undefined {
  let parts = path.split('/').filter((p) => p !== '');
  let resolved = '';
  let hops = 0;
  while (parts.length > 0) {
    const part = parts.shift() as string;
    if (part === '.') continue;
    if (part === '..') {
      resolved = posix.dirname(resolved || '/');
      if (resolved === '/') resolved = '';
      continue;
    }
    const next = `${resolved}/${part}`;
    const host = toHost(next);
    if (host === undefined) {
      resolved = next; // an ancestor of the store dir (/nix): exists in every container we patch
      continue;
    }
    const st = lstatOrMissing(host);
    if (!st) return undefined;
    if (st.isSymbolicLink()) {
      if (++hops > MAX_SYMLINK_HOPS) return undefined;
      const target = readlinkSync(host);
      parts = [...target.split('/').filter((p) => p !== ''), ...parts];
      if (target.startsWith('/')) resolved = '';
      continue;
    }
    resolved = next;
  }
  return resolved === '' ? '/' : resolved;
}

/** lstat, undefined when nothing is there: ENOENT, or ENOTDIR below a file (a store path whose root is a file). */
function lstatOrMissing(path: string): Stats | undefined {
  try {
    return lstatSync(path, { throwIfNoEntry: false });
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'ENOTDIR') return undefined;
    throw err;
  }
}

interface Linked {
  priority: number;
  owner: string;
}

/**
 * Builds a merged profile at `out` (a host directory) the way Nix's builtin
 * buildenv does: packages in (priority, path) order, a directory present in
 * several packages becomes a real directory merged recursively, a file present
 * in several is taken from the lower priority number, equal priorities are a
 * conflict. Symlinks point at in-container paths; reads go to the host copies.
 */
export function buildEnv(out: string, packages: readonly BuildEnvPackage[], toHost: HostMapper): { symlinks: number } {
  const linked = new Map<string, Linked>();
  let symlinks = 0;
  const hostOf = (containerPath: string): string | undefined => {
    const canon = canonicalContainerPath(containerPath, toHost);
    return canon === undefined ? undefined : toHost(canon);
  };

  const createLinks = (srcDir: string, rel: string, priority: number, owner: string): void => {
    const hostDir = hostOf(srcDir);
    if (hostDir === undefined || !statSync(hostDir).isDirectory()) return; // Nix: "not a directory", skipped
    for (const name of readdirSync(hostDir).sort()) {
      if (name.startsWith('.')) continue;
      const srcFile = `${srcDir}/${name}`;
      const dstRel = rel === '' ? name : `${rel}/${name}`;
      const dstFile = join(out, dstRel);
      if (SKIPPED_SUFFIXES.some((s) => srcFile.endsWith(s))) continue;
      const srcHost = hostOf(srcFile);
      if (srcHost === undefined) continue; // dangling symlink: Nix skips it
      const srcIsDir = statSync(srcHost).isDirectory();
      const dst = lstatSync(dstFile, { throwIfNoEntry: false });
      if (srcIsDir && dst) {
        if (dst.isDirectory()) {
          createLinks(srcFile, dstRel, priority, owner);
          continue;
        }
        if (dst.isSymbolicLink()) {
          // Nix re-links from the fully resolved target (canonPath(dstFile, true)).
          const target = canonicalContainerPath(readlinkSync(dstFile), toHost) ?? readlinkSync(dstFile);
          const targetHost = toHost(target);
          if (targetHost === undefined || !statSync(targetHost).isDirectory()) {
            throw new ProfileCollisionError(
              `profile: ${srcFile} is a directory but ${target} (from ${linked.get(dstRel)?.owner ?? '?'}) is not; ` +
                'Nix buildEnv cannot merge them either: remove one of the packages',
            );
          }
          const prev = linked.get(dstRel) ?? { priority, owner };
          unlinkSync(dstFile);
          mkdirSync(dstFile, { mode: 0o755 });
          createLinks(target, dstRel, prev.priority, prev.owner);
          createLinks(srcFile, dstRel, priority, owner);
          continue;
        }
      } else if (dst) {
        if (dst.isSymbolicLink()) {
          const prev = linked.get(dstRel) as Linked;
          if (prev.priority === priority) {
            const existing = readlinkSync(dstFile);
            throw new ProfileConflictError(
              `profile: packages ${prev.owner} and ${owner} both provide ${dstRel} (${existing} and ${srcFile}) ` +
                `at priority ${priority}; give one of them a lower priority number in the manifest`,
              [prev.owner, owner],
              dstRel,
            );
          }
          if (prev.priority < priority) continue;
          unlinkSync(dstFile);
        } else if (dst.isDirectory()) {
          throw new ProfileCollisionError(
            `profile: ${srcFile} (from ${owner}) is not a directory but ${dstRel} is a directory merged from other packages; ` +
              'Nix buildEnv cannot merge them either: remove one of the packages',
          );
        }
      }
      symlinkSync(srcFile, dstFile);
      linked.set(dstRel, { priority, owner });
      symlinks++;
    }
  };

  const entries = packages
    .flatMap((pkg) => pkg.paths.map((path) => ({ path, priority: pkg.priority, owner: pkg.name })))
    .sort((a, b) => a.priority - b.priority || (a.path < b.path ? -1 : a.path > b.path ? 1 : 0));
  const done = new Set<string>();
  let postponed = new Map<string, string>();
  const addPackage = (path: string, priority: number, owner: string): void => {
    if (done.has(path)) return;
    done.add(path);
    createLinks(path, '', priority, owner);
    // Packages may ask for others to be installed with them (Nix: propagated-user-env-packages).
    const host = hostOf(`${path}/nix-support/propagated-user-env-packages`);
    if (host === undefined) return;
    let text: string;
    try {
      text = readFileSync(host, 'utf8');
    } catch {
      return;
    }
    for (const p of text.split(/[ \n]+/)) if (p !== '' && !done.has(p)) postponed.set(p, owner);
  };
  for (const e of entries) addPackage(e.path, e.priority, e.owner);
  // Propagated packages come last with ever larger priority numbers, so they lose every collision.
  let priorityCounter = 1000;
  while (postponed.size > 0) {
    const batch = [...postponed.entries()].sort(([a], [b]) => (a < b ? -1 : 1));
    postponed = new Map();
    for (const [p, owner] of batch) addPackage(p, priorityCounter++, `${owner} (propagated ${p})`);
  }
  return { symlinks };
}
