import { mkdirSync, readlinkSync, symlinkSync } from 'node:fs';
import { join } from 'node:path';
import { writeNewFile } from './atomic-file.ts';
import { StorePathMissingError } from './errors.ts';
import type { StoreLayout } from './layout.ts';
import type { PathRegistry } from './registry.ts';

/**
 * Where a profile keeps its store view, relative to the profile directory. Beside the activation
 * assets: a dot directory, so buildEnv never collides with it, built and collected with the profile.
 */
export const STORE_VIEW_DIR = '.flox-k8s/nix-store';

/** The container's `/nix/store` for one closure: mounted over it read-only. */
export interface StoreView {
  /** Host directory: one entry per closure path. */
  hostPath: string;
  /** Closure paths whose root is a symlink: the view holds that symlink; they are never bind-mounted. */
  symlinks: string[];
}

/**
 * Writes the store view of `closure` into `dir` (which must not exist): for a store path whose
 * root is a directory, an empty directory; a regular file, an empty file (the mount point of its
 * bind mount); a symlink, a symlink with the same target. Mounted at `/nix/store`, it makes the
 * container's store exactly the closure, and a symlink store path resolves in the container,
 * against the container's own mounts, instead of being followed on the host by a bind mount.
 * The root type comes from the path's record (lstat at registration); returns the symlinks.
 */
export function writeStoreView(dir: string, closure: readonly string[], layout: StoreLayout, registry: PathRegistry): string[] {
  mkdirSync(dir, { recursive: true, mode: 0o755 });
  const prefix = `${layout.storeDir}/`;
  const symlinks: string[] = [];
  for (const storePath of closure) {
    const base = storePath.slice(prefix.length);
    const info = storePath.startsWith(prefix) ? registry.valid(base) : undefined;
    if (info === undefined) throw new StorePathMissingError(`store view: ${storePath} of the closure is not in the store; realise it first`);
    const entry = join(dir, base);
    if (info.rootType === 'directory') mkdirSync(entry, { mode: 0o555 });
    else if (info.rootType === 'regular') writeNewFile(entry, '', 0o444, `the store view's mount point of ${base}`);
    else {
      symlinkSync(readlinkSync(registry.hostPath(base)), entry);
      symlinks.push(storePath);
    }
  }
  return symlinks;
}
