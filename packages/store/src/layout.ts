import { join } from 'node:path';
import { parseStorePath } from '@flox-k8s/nar';
import { containerRootsDir } from './container-roots.ts';
import { StorePathInvalidError } from './errors.ts';

/** Where everything lives under a store root. */
export interface StoreLayout {
  root: string;
  /** In-container store directory the paths are named after (default /nix/store). */
  storeDir: string;
  store: string;
  meta: string;
  tmp: string;
  locks: string;
  leases: string;
  pins: string;
  inflight: string;
  /** Roots of running containers (container-roots.ts). */
  containers: string;
  profiles: string;
}

/** Where the profiles of the store at `root` live (each with its store view: view-mounts.ts). */
export function profilesDirOf(root: string): string {
  return join(root, 'profiles');
}

/** The directory layout of a store root. */
export function storeLayout(root: string, storeDir: string): StoreLayout {
  return {
    root,
    storeDir,
    store: join(root, 'store'),
    meta: join(root, 'meta'),
    tmp: join(root, 'tmp'),
    locks: join(root, 'locks'),
    leases: join(root, 'roots', 'leases'),
    pins: join(root, 'roots', 'pins'),
    inflight: join(root, 'roots', 'inflight'),
    containers: containerRootsDir(root),
    profiles: profilesDirOf(root),
  };
}

/** `<hash>-<name>` of a store path under `storeDir`, or a coded error. */
export function storeBase(storePath: string, storeDir: string): string {
  let parsed;
  try {
    parsed = parseStorePath(storePath, storeDir);
  } catch (cause) {
    throw new StorePathInvalidError(
      `expected a store path like ${storeDir}/<32-char nix32 hash>-<name>, found ${JSON.stringify(storePath)}`,
      { cause },
    );
  }
  // Only a top-level store path names a store object; a file inside one does not.
  if (parsed.path !== storePath) {
    throw new StorePathInvalidError(`expected a top-level store path, found ${JSON.stringify(storePath)}; pass ${parsed.path}`);
  }
  return parsed.base;
}
