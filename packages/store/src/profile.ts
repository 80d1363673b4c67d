import { mkdirSync, mkdtempSync, readFileSync, renameSync } from 'node:fs';
import { join } from 'node:path';
import { activationPlan, packagesFor, storePathsToInstall, type ActivationPlan, type Lockfile } from '@flox-k8s/lockfile';
import { ASSET_DIR, activationAssets, type ProfileShell } from './activation-assets.ts';
import { buildEnv } from './buildenv.ts';
import { writeNewFile } from './atomic-file.ts';
import { StoreMetadataError, StorePathMissingError, writeFailure } from './errors.ts';
import { errnoCode, fsyncDir, fsyncTree, removeTree } from './fs-util.ts';
import type { StoreLayout } from './layout.ts';
import { ownerTag } from './process-owner.ts';
import { present, type PathRegistry } from './registry.ts';
import { InflightRoot } from './roots.ts';
import { STORE_VIEW_DIR, writeStoreView, type StoreView } from './store-view.ts';

/** Options of `store.profile`. */
export interface ProfileOptions {
  /** Activation mode the assets are written for (default `run`). */
  mode?: 'run' | 'dev' | undefined;
  /** Where the profile is mounted in the container (default: the store's `profileMountPath`). */
  containerPath?: string | undefined;
}

/** In-container paths of the activation assets inside a profile. */
export interface ProfileActivation {
  plan: ActivationPlan;
  /** All variables as POSIX shell (`. envrc`). */
  envrc: string;
  /** `<shell> wrapper <argv...>`: hook + profile scripts, then `exec "$@"`; present when `plan.needsWrapper`. */
  wrapper?: string | undefined;
  hook?: string | undefined;
  profile: Partial<Record<ProfileShell, string>>;
}

/** A built profile. */
export interface ProfileResult {
  hostPath: string;
  containerPath: string;
  digest: string;
  system: string;
  mode: 'run' | 'dev';
  /** Sorted closure of the profile's packages (what a container must mount). */
  closure: string[];
  /** The container's `/nix/store`: mount it there; bind-mount every closure path but its symlinks over it. */
  storeView: StoreView;
  activation: ProfileActivation;
}

/** What `buildProfile` needs from the store. */
export interface ProfileInput {
  layout: StoreLayout;
  registry: PathRegistry;
  lock: Lockfile;
  system: string;
  mode: 'run' | 'dev';
  key: string;
  digest: string;
  containerPath: string;
  fsync: boolean;
  waitForGc: () => Promise<void>;
}

const MANIFEST = 'profile.json';

function closureOf(input: ProfileInput, roots: readonly string[]): string[] {
  const seen = new Set<string>();
  const missing: string[] = [];
  const stack = [...roots];
  const prefix = `${input.layout.storeDir}/`;
  while (stack.length > 0) {
    const p = stack.pop() as string;
    if (seen.has(p)) continue;
    seen.add(p);
    const info = p.startsWith(prefix) ? input.registry.valid(p.slice(prefix.length)) : undefined;
    if (!info) missing.push(p);
    else stack.push(...info.references);
  }
  if (missing.length > 0) {
    throw new StorePathMissingError(
      `profile ${input.digest}: ${missing.length} path(s) of the closure are not in the store (${missing.sort().slice(0, 5).join(', ')}); realise them first`,
    );
  }
  return [...seen].sort();
}

function resultFrom(input: ProfileInput, hostPath: string, manifest: Manifest): ProfileResult {
  const { closure, plan, files, symlinks } = manifest;
  const assetDir = `${input.containerPath}/${ASSET_DIR}`;
  const names = new Set(files);
  const profile: Partial<Record<ProfileShell, string>> = {};
  for (const shell of ['common', 'bash', 'zsh', 'fish', 'tcsh'] as const) {
    if (names.has(`profile-${shell}`)) profile[shell] = `${assetDir}/profile-${shell}`;
  }
  return {
    hostPath,
    containerPath: input.containerPath,
    digest: input.digest,
    system: input.system,
    mode: input.mode,
    closure,
    storeView: { hostPath: join(hostPath, STORE_VIEW_DIR), symlinks },
    activation: {
      plan,
      envrc: `${assetDir}/envrc`,
      wrapper: names.has('wrapper') ? `${assetDir}/wrapper` : undefined,
      hook: names.has('hook-on-activate') ? `${assetDir}/hook-on-activate` : undefined,
      profile,
    },
  };
}

/**
 * Builds (or finds) the profile of a lockfile: merged tree into a temp dir,
 * activation assets, the store view (the container's `/nix/store`), a manifest written last, then one rename into
 * `profiles/<digest>-<system>-<mode>-f<PROFILE_FORMAT>`. A visible profile is always complete.
 */
export async function buildProfile(input: ProfileInput): Promise<ProfileResult> {
  const final = join(input.layout.profiles, input.key);
  const roots = storePathsToInstall(input.lock, input.system);
  const inflight = new InflightRoot(input.layout);
  try {
    inflight.set(roots);
    await input.waitForGc();
    const existing = readManifest(join(final, ASSET_DIR, MANIFEST));
    if (existing !== undefined) {
      // The recorded closure is exact (references never change); only presence needs checking.
      const prefix = `${input.layout.storeDir}/`;
      if (existing.closure.every((p) => present(join(input.layout.store, p.slice(prefix.length))))) {
        return resultFrom(input, final, existing);
      }
      closureOf(input, roots); // throws the coded error naming what is missing
    }
    const closure = closureOf(input, roots);
    const plan = activationPlan(input.lock, { system: input.system, mode: input.mode, envDir: input.containerPath, closure });
    let tmpDir: string;
    try {
      tmpDir = mkdtempSync(join(input.layout.tmp, `${ownerTag()}-profile-`));
    } catch (err) {
      throw writeFailure(err, `creating the build directory of profile ${input.key}`, input.layout.tmp);
    }
    try {
      return resultFrom(input, final, await writeProfile(input, join(tmpDir, 'profile'), final, closure, plan));
    } catch (err) {
      // A full disk or an I/O error while building (mkdir, symlink, assets, fsync, rename): coded; the temp dir goes below.
      throw writeFailure(err, `building profile ${input.key}`, tmpDir);
    } finally {
      await removeTree(tmpDir).catch(() => undefined);
    }
  } finally {
    inflight.remove();
  }
}

interface Manifest {
  plan: ActivationPlan;
  files: string[];
  closure: string[];
  /** Closure paths whose root is a symlink (entries of the store view). */
  symlinks: string[];
}

/** A visible profile's manifest; undefined when there is no such profile. */
function readManifest(file: string): Manifest | undefined {
  let text: string;
  try {
    text = readFileSync(file, 'utf8');
  } catch (err) {
    if (errnoCode(err) === 'ENOENT') return undefined;
    throw new StoreMetadataError(`profile manifest ${file} cannot be read (${errnoCode(err) ?? 'error'}); check the disk`, { cause: err });
  }
  try {
    const m = JSON.parse(text) as Partial<Manifest>;
    if (Array.isArray(m.closure) && Array.isArray(m.files) && Array.isArray(m.symlinks) && typeof m.plan === 'object' && m.plan !== null) return m as Manifest;
  } catch {
    // reported below
  }
  // Profiles are renamed into place complete, so this is damage: say which directory to remove.
  throw new StoreMetadataError(`profile manifest ${file} is not a complete manifest; remove the profile directory and build it again`);
}

/** Merged tree, activation assets, store view and manifest (written last) at `out`, then one rename to `final`. */
async function writeProfile(input: ProfileInput, out: string, final: string, closure: string[], plan: ActivationPlan): Promise<Manifest> {
  mkdirSync(out, { mode: 0o755 });
  const prefix = `${input.layout.storeDir}/`;
  buildEnv(
    out,
    packagesFor(input.lock, input.system).map((p) => ({ name: p.installId, paths: p.storePaths, priority: p.priority })),
    // The store directory itself has no host side here: a package linking to it (legal in Nix)
    // must not list every path of this node's store into the profile.
    (c) => (c.startsWith(prefix) ? join(input.layout.store, c.slice(prefix.length)) : undefined),
  );
  const header = `flox-k8s activation for lockfile ${input.digest} (${input.system}, ${input.mode})`;
  const assets = activationAssets(plan, `${input.containerPath}/${ASSET_DIR}`, header);
  mkdirSync(join(out, ASSET_DIR), { mode: 0o755 });
  for (const [name, text] of assets) {
    writeNewFile(join(out, ASSET_DIR, name), text, name === 'wrapper' ? 0o555 : 0o444, `the profile asset ${name}`);
  }
  const symlinks = writeStoreView(join(out, STORE_VIEW_DIR), closure, input.layout, input.registry);
  const files = [...assets.keys()].sort();
  const manifest = `${JSON.stringify({ digest: input.digest, system: input.system, mode: input.mode, closure, symlinks, files, plan }, null, 2)}\n`;
  writeNewFile(join(out, ASSET_DIR, MANIFEST), manifest, 0o444, 'the profile manifest');
  if (input.fsync) await fsyncTree(out);
  try {
    renameSync(out, final);
    fsyncDir(input.layout.profiles);
  } catch (err) {
    // Another process built the same lockfile first: profiles are content-addressed, theirs is identical.
    if (errnoCode(err) !== 'ENOTEMPTY' && errnoCode(err) !== 'EEXIST') throw err;
  }
  return { plan, files, closure, symlinks };
}
