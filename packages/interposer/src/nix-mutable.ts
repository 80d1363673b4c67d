// flox.dev/nix-mutable: the writable layer of one container, on the host at
// `<storeRoot>/mutable/<container id>/` (oci-patch's nixMutableScratchDirs names what is
// inside). The node store is only ever a lower layer. The directory lives as long as the
// container's bundle: each nix-mutable create sweeps the scratch of containers whose bundle
// containerd has removed.
import { chmodSync, chownSync, existsSync, lstatSync, mkdirSync, opendirSync, readdirSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { join, posix } from 'node:path';
import { nixMutableScratchDirs, type NixMutablePlan } from '@flox-k8s/oci-patch';
import { NixMutableError } from './errors.ts';

const BUNDLE_FILE = 'bundle';
// A scratch directory without its bundle record is a create that died half-way: gone after this long.
const ORPHAN_AGE_MS = 10 * 60_000;
// runc's container id syntax (libcontainer: ^[\w+-\.]+$).
const CONTAINER_ID = /^[A-Za-z0-9_+.-]+$/;

export interface NixMutableRequest {
  storeRoot: string;
  containerId: string;
  /** The bundle and its rootfs as the runc caller names them (they go into mount options). */
  bundle: string;
  rootfs: string | undefined;
  hostStoreDir: string;
  storePaths: readonly string[];
  /** Owner of the container's /nix/store (the process's user), so it can add store paths. */
  user: { uid: number; gid: number };
  /** Host path of the runc caller → a path this process can use. */
  callerPath: (path: string) => string;
}

/** Where nix-mutable containers' writes go on the host. */
export function mutableRoot(storeRoot: string): string {
  return join(storeRoot, 'mutable');
}

/**
 * Creates the container's scratch directory (upper and work directory of every overlay) and
 * returns the plan part oci-patch turns into mounts. `/nix/store`'s lower layer is the image's
 * own `/nix/store` when it has anything in it (its store paths stay visible), else an empty
 * directory of ours: an empty one, like the stub image's mount point, adds nothing, and an
 * overlay whose lower is itself on the rootfs overlay would stack overlays for no content.
 */
export function prepareNixMutable(request: NixMutableRequest): NixMutablePlan {
  const { callerPath, containerId } = request;
  if (!CONTAINER_ID.test(containerId) || containerId === '.' || containerId === '..') {
    throw new NixMutableError(`container id ${JSON.stringify(containerId.slice(0, 80))} cannot name a directory`);
  }
  const root = mutableRoot(request.storeRoot);
  const scratchDir = join(root, containerId);
  try {
    mkdirSync(callerPath(root), { recursive: true, mode: 0o700 });
    chmodSync(callerPath(root), 0o700);
    sweepMutableScratch({ scratchRoot: callerPath(root), bundleExists: (bundle) => existsSync(callerPath(bundle)), keep: containerId });
    // A retried create of the same id starts from nothing.
    rmSync(callerPath(scratchDir), { recursive: true, force: true });
    mkdirSync(callerPath(scratchDir), { mode: 0o700 });
    writeFileSync(callerPath(join(scratchDir, BUNDLE_FILE)), request.bundle, { mode: 0o600 });

    const imageStore = request.rootfs === undefined ? undefined : posix.join(request.rootfs, 'nix', 'store');
    const useImageStore = imageStore !== undefined && isRealDirectory(callerPath(imageStore)) && !isEmptyDirectory(callerPath(imageStore)) && !/[,:]/.test(imageStore);
    const storeLower = useImageStore ? imageStore : join(scratchDir, 'empty');
    if (!useImageStore) mkdirSync(callerPath(storeLower), { mode: 0o555 });

    const directories = request.storePaths.filter((p) => isRealDirectory(callerPath(join(request.hostStoreDir, p.slice('/nix/store/'.length)))));
    const plan: NixMutablePlan = { scratchDir, storeLower, directories };
    const dirs = nixMutableScratchDirs(plan);
    makeLayer(callerPath(dirs.store.upper), callerPath(dirs.store.work), { mode: 0o755, ...request.user });
    for (const path of dirs.paths) {
      // The overlay's root takes the upper directory's attributes: give it the store copy's.
      const lower = lstatSync(callerPath(join(request.hostStoreDir, path.storePath.slice('/nix/store/'.length))));
      makeLayer(callerPath(path.upper), callerPath(path.work), { mode: lower.mode & 0o7777, uid: lower.uid, gid: lower.gid });
    }
    return plan;
  } catch (error) {
    rmSync(callerPath(scratchDir), { recursive: true, force: true });
    if (error instanceof NixMutableError) throw error;
    throw new NixMutableError(`preparing the writable /nix/store of container ${containerId} under ${root} failed: ${(error as Error).message}`, { cause: error });
  }
}

/**
 * Removes the scratch of containers whose bundle is gone (and of creates that died half-way);
 * returns how many. `scratchRoot` is `mutableRoot(storeRoot)` as this process reaches it;
 * `bundleExists` says whether a bundle path, as runc's caller named it, still exists.
 */
export function sweepMutableScratch(options: { scratchRoot: string; bundleExists: (bundle: string) => boolean; keep?: string }): number {
  const root = options.scratchRoot;
  const keep = options.keep;
  let removed = 0;
  let names: string[];
  try {
    names = readdirSync(root);
  } catch {
    return 0;
  }
  for (const name of names) {
    if (name === keep) continue;
    const dir = join(root, name);
    let bundle: string | undefined;
    try {
      bundle = readFileSync(join(dir, BUNDLE_FILE), 'utf8');
    } catch {
      bundle = undefined;
    }
    const stale = bundle === undefined ? ageMs(dir) > ORPHAN_AGE_MS : !bundle.startsWith('/') || !options.bundleExists(bundle);
    if (!stale) continue;
    rmSync(dir, { recursive: true, force: true });
    removed++;
  }
  return removed;
}

function makeLayer(upper: string, work: string, owner: { mode: number; uid: number; gid: number }): void {
  mkdirSync(upper, { recursive: true });
  mkdirSync(work, { recursive: true, mode: 0o700 });
  chownSync(upper, owner.uid, owner.gid);
  chmodSync(upper, owner.mode);
}

function isEmptyDirectory(path: string): boolean {
  const dir = opendirSync(path);
  try {
    return dir.readSync() === null;
  } finally {
    dir.closeSync();
  }
}

function isRealDirectory(path: string): boolean {
  try {
    return lstatSync(path).isDirectory();
  } catch {
    return false;
  }
}

function ageMs(path: string): number {
  try {
    return Date.now() - statSync(path).mtimeMs;
  } catch {
    return 0;
  }
}
