// The parsed, validated shape of a Flox `manifest.lock` (lockfile-version 1).
// Field names are camelCase; the Flox spelling of each key is noted where it
// differs, because Flox mixes snake_case (catalog entries) and kebab-case
// (manifest keys, flake entries).

/** A Nix system double such as `x86_64-linux`. */
export type NixSystem = string;

/** An `[install]` entry of the manifest. */
export interface InstallDescriptor {
  /** `pkg-path`: catalog attribute path (`python313Packages.numpy`). */
  pkgPath?: string;
  /** `flake`: flake installable (`github:NixOS/nixpkgs#hello`). */
  flake?: string;
  /** `store-path`: a literal store path. */
  storePath?: string;
  /** `outputs`: `"all"` or a list of output names (schema-version manifests). */
  outputs?: 'all' | string[];
  /** `systems`: restrict the package to these systems. */
  systems?: NixSystem[];
  /** `priority`: lower wins file conflicts in the merged profile (Flox default 5). */
  priority?: number;
  /** `pkg-group`. */
  pkgGroup?: string;
  version?: string;
}

/** `[services.<name>]`. */
export interface ServiceDescriptor {
  command: string;
  vars?: Record<string, string>;
  isDaemon?: boolean;
  shutdown?: { command?: string };
  systems?: NixSystem[];
}

/** `[profile]`: scripts sourced by the user's shell after the hook. */
export interface ManifestProfile {
  common?: string;
  bash?: string;
  zsh?: string;
  fish?: string;
  tcsh?: string;
}

/** `[options]` (only the keys this package acts on are typed). */
export interface ManifestOptions {
  systems?: NixSystem[];
  /** `activate.mode`: the environment's default activation mode. */
  activateMode?: 'dev' | 'run';
}

/** Which manifest format the lock embeds: Flox's old `version = 1`, or `schema-version = "1.x.y"`. */
export type ManifestFormat = { kind: 'version'; version: 1 } | { kind: 'schema-version'; schemaVersion: string };

/** The manifest embedded in the lockfile (for a composed environment: the merged manifest). */
export interface Manifest {
  format: ManifestFormat;
  install: Record<string, InstallDescriptor>;
  vars: Record<string, string>;
  /** `hook.on-activate`. */
  hook: { onActivate?: string };
  profile: ManifestProfile;
  options: ManifestOptions;
  services: Record<string, ServiceDescriptor>;
  /** `[build]` entries, kept as Flox wrote them (this package does not run builds). */
  build: Record<string, Record<string, unknown>>;
  /** `[include]`, kept as Flox wrote it. */
  include?: Record<string, unknown>;
  /** `[containerize]`, kept as Flox wrote it. */
  containerize?: Record<string, unknown>;
}

interface LockedPackageBase {
  /** `install_id`: the key of the manifest's `[install]` entry. */
  installId: string;
  system: NixSystem;
  /** Lower wins file conflicts in the merged profile. */
  priority: number;
}

/** A package resolved by the Flox catalog (snake_case keys in the lockfile). */
export interface CatalogPackage extends LockedPackageBase {
  kind: 'catalog';
  attrPath?: string;
  name?: string;
  pname?: string;
  version?: string;
  derivation?: string;
  lockedUrl?: string;
  group?: string;
  /** `description`: nixpkgs `meta.description`. */
  description?: string;
  /** `license`: nixpkgs `meta.license` as SPDX ids or names; the catalog's `"[ MIT, Apache-2.0 ]"` list text is split. */
  licenses?: string[];
  /** Output name → store path. */
  outputs: Record<string, string>;
  /** `outputs_to_install`, de-duplicated, in lockfile order. */
  outputsToInstall?: string[];
}

/** A package locked from a flake installable (kebab-case keys in the lockfile). */
export interface FlakePackage extends LockedPackageBase {
  kind: 'flake';
  /** `locked-url`. */
  lockedUrl: string;
  /** `locked-flake-attr-path`. */
  lockedFlakeAttrPath?: string;
  name?: string;
  pname?: string;
  version?: string;
  derivation?: string;
  /** `description`: the package's `meta.description` (not the flake's `flake-description`). */
  description?: string;
  /** `licenses`: the package's `meta.license` as SPDX ids or names. */
  licenses?: string[];
  outputs: Record<string, string>;
  /** `outputs-to-install`, de-duplicated, in lockfile order. */
  outputsToInstall?: string[];
}

/** A literal store path (`{install_id, store_path, system, priority}`). */
export interface StorePathPackage extends LockedPackageBase {
  kind: 'store-path';
  storePath: string;
}

export type LockedPackage = CatalogPackage | FlakePackage | StorePathPackage;

/** One environment merged into a composed environment (`compose.include[]`). */
export interface ComposeInclude {
  name: string;
  descriptor: Record<string, unknown>;
  manifest: Manifest;
}

/** `compose`: present when the manifest includes other environments. */
export interface Compose {
  /** The user's own manifest before merging. */
  composer: Manifest;
  include: ComposeInclude[];
  warnings: unknown[];
}

/** A validated lockfile-version 1 `manifest.lock`. */
export interface Lockfile {
  lockfileVersion: 1;
  /** The embedded (for compositions: merged) manifest. */
  manifest: Manifest;
  /** One entry per (install_id, system). */
  packages: LockedPackage[];
  compose?: Compose;
  /** sha256 (lowercase hex) of the exact bytes parsed; set when parsed from a string or bytes. */
  digest?: string;
}
