// Which store paths make up an environment on one system: the same choice
// Flox's buildenv makes when it collects a lockfile's packages.
import { SystemNotInLockfileError } from './errors.ts';
import type { LockedPackage, Lockfile, NixSystem } from './types.ts';

/** A package of the environment on one system, for building the merged profile. */
export interface PackageToInstall {
  installId: string;
  /** Sorted, unique store paths of the outputs to link into the profile. */
  storePaths: string[];
  /** Lower wins file conflicts in the merged profile (Flox/Nix buildEnv semantics). */
  priority: number;
}

/**
 * The systems a lockfile can be realised on: `options.systems` of the manifest
 * plus every system that has a package entry, sorted.
 */
export function lockfileSystems(lock: Lockfile): NixSystem[] {
  const systems = new Set<string>(lock.manifest.options.systems ?? []);
  for (const p of lock.packages) systems.add(p.system);
  return [...systems].sort();
}

/**
 * The packages to install for `system`, in lockfile order, each with its
 * store paths and priority. Throws `FLOXK8S_SYSTEM_NOT_IN_LOCKFILE` (naming
 * the systems the lockfile has) when the lockfile knows nothing of `system`.
 */
export function packagesFor(lock: Lockfile, system: NixSystem): PackageToInstall[] {
  const systems = lockfileSystems(lock);
  if (!systems.includes(system)) throw new SystemNotInLockfileError(system, systems);
  const out: PackageToInstall[] = [];
  for (const p of lock.packages) {
    if (p.system !== system) continue;
    out.push({ installId: p.installId, storePaths: storePathsOf(lock, p), priority: p.priority });
  }
  return out;
}

/**
 * Every store path to install for `system`, sorted and de-duplicated: the
 * roots whose closure must be realised. Throws `FLOXK8S_SYSTEM_NOT_IN_LOCKFILE`
 * when the lockfile knows nothing of `system`.
 */
export function storePathsToInstall(lock: Lockfile, system: NixSystem): string[] {
  const paths = new Set<string>();
  for (const p of packagesFor(lock, system)) for (const path of p.storePaths) paths.add(path);
  return [...paths].sort();
}

/**
 * The outputs of one entry that Flox links into the environment.
 *
 * - store-path entries: the store path itself (buildenv.nix: `store_path`).
 * - `version = 1` manifests: every output except `stubs`. Flox 1.x's
 *   buildenv.nix installs all outputs regardless of `outputs_to_install` and
 *   drops `stubs` because those outputs are build-time only and break things
 *   at run time.
 * - `schema-version` manifests (1.10+): the install descriptor's `outputs`
 *   (`"all"`, or a list of names) when given, else the entry's
 *   `outputs_to_install` (`outputs-to-install` for flakes), de-duplicated as
 *   Flox does; an entry without either falls back to all outputs except `stubs`.
 */
function storePathsOf(lock: Lockfile, p: LockedPackage): string[] {
  if (p.kind === 'store-path') return [p.storePath];
  let names: string[];
  if (lock.manifest.format.kind === 'version') {
    names = allButStubs(p.outputs);
  } else {
    const wanted = lock.manifest.install[p.installId]?.outputs;
    if (wanted === 'all') names = Object.keys(p.outputs);
    else if (wanted !== undefined) names = wanted;
    else names = p.outputsToInstall ?? allButStubs(p.outputs);
  }
  const paths = new Set<string>();
  for (const name of names) {
    // parseLockfile checked that every selected name is locked.
    const path = p.outputs[name];
    if (path !== undefined) paths.add(path);
  }
  return [...paths].sort();
}

function allButStubs(outputs: Record<string, string>): string[] {
  return Object.keys(outputs).filter((name) => name !== 'stubs');
}
