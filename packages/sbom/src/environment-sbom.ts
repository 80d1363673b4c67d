// The format-neutral SBOM of one environment on one system: one component per
// closure path, named and licensed from the lockfile where the lockfile locks
// that path, the graph from References, the environment as the root. The
// CycloneDX and SPDX writers only render this; every rule lives here.
import { formatEnvironmentRef, parseEnvironmentRef, storePathsToInstall, type LockedPackage, type Lockfile, type NixSystem } from '@flox-k8s/lockfile';
import { PackageURL } from 'packageurl-js';
import { parseDrvName } from './drv-name.ts';
import {
  ClosureIncompleteError,
  ClosureUnreachableError,
  PathInfoDuplicateError,
  SbomOptionsInvalidError,
} from './errors.ts';
import { packageLicense, type PackageLicense } from './licenses.ts';
import { closurePath, compareStrings, type ClosurePath, type ClosurePathInfo } from './path-info.ts';
import { sbomSerialNumber } from './serial.ts';

/** Which environment the SBOM describes, as its owner and name (and generation, when it has one). */
export interface EnvironmentIdentity {
  owner: string;
  name: string;
  /** The published generation, when the lockfile is one. */
  generation?: number | undefined;
}

/** Input of {@link environmentSbom}. */
export interface EnvironmentSbomInput {
  /** The environment's lockfile, parsed from its bytes (`parseLockfile(bytes)`) so it carries its digest. */
  lockfile: Lockfile;
  system: NixSystem;
  /** Path infos of exactly the closure of the store paths the lockfile installs on `system`, in any order. */
  closure: Iterable<ClosurePathInfo>;
  environment: EnvironmentIdentity;
  /**
   * When the SBOM was made (whole seconds; milliseconds are dropped). Without it CycloneDX
   * has no timestamp and SPDX, which requires one, says 1970-01-01T00:00:00Z: the output
   * depends on its inputs only.
   */
  timestamp?: Date | undefined;
}

/** The environment: the root component every installed store path hangs from. */
export interface SbomEnvironment {
  owner: string;
  name: string;
  generation: number | undefined;
  /** sha256 of the lockfile bytes, 64 lowercase hex digits. */
  lockfileDigest: string;
  system: NixSystem;
  /** `owner/name@sha256:<digest>`: the immutable reference, also the root's bom-ref. */
  ref: string;
}

/** One closure path as a component. */
export interface SbomComponent extends ClosurePath {
  /** Package name: the lockfile's `pname`, else Nix's split of the store path name. */
  name: string;
  /** The lockfile's `version`, else Nix's split; empty when there is none. */
  version: string;
  /** `pkg:nix/<name>@<version>` (no `@` when the version is empty). */
  purl: string;
  description: string | undefined;
  licenses: PackageLicense[];
  /** References other than the path itself, sorted: the dependency graph. */
  dependsOn: string[];
  /** The lockfile entry that locks this path as one of its outputs, when one does. */
  lockedAs: { installId: string; output: string } | undefined;
}

/** A deterministic, format-neutral SBOM; render it with `cycloneDxJson` or `spdxJson`. */
export interface EnvironmentSbom {
  environment: SbomEnvironment;
  /** `urn:uuid:<uuid v5>` of the lockfile digest and system. */
  serialNumber: string;
  timestamp: Date | undefined;
  /** The store paths the lockfile installs on this system, sorted: what the root depends on. */
  installed: string[];
  /** One per closure path, sorted by store path. */
  components: SbomComponent[];
}

/**
 * Make the SBOM of an environment from its lockfile and its closure's path infos.
 * Throws `FLOXK8S_SBOM_OPTIONS_INVALID` (no digest, bad identity or timestamp),
 * `FLOXK8S_SYSTEM_NOT_IN_LOCKFILE` (from the lockfile), `FLOXK8S_SBOM_PATH_INFO_INVALID`,
 * `FLOXK8S_SBOM_PATH_INFO_DUPLICATE`, `FLOXK8S_SBOM_CLOSURE_INCOMPLETE` (an installed path or
 * a reference without a path info) or `FLOXK8S_SBOM_CLOSURE_UNREACHABLE` (a path info the
 * installed paths do not reach).
 */
export function environmentSbom(input: EnvironmentSbomInput): EnvironmentSbom {
  const { lockfile, system } = input;
  const environment = identify(input);
  const installed = storePathsToInstall(lockfile, system);
  const paths = checkedClosure(input.closure, installed);
  const locked = lockedOutputs(lockfile, system);
  const components = [...paths.values()].sort((a, b) => compareStrings(a.storePath, b.storePath)).map((path) => component(path, locked.get(path.storePath)));
  return {
    environment,
    serialNumber: sbomSerialNumber(environment.lockfileDigest, system),
    timestamp: wholeSeconds(input.timestamp),
    installed,
    components,
  };
}

function identify(input: EnvironmentSbomInput): SbomEnvironment {
  const digest = input.lockfile.digest;
  if (digest === undefined || !/^[0-9a-f]{64}$/.test(digest)) {
    throw new SbomOptionsInvalidError('the lockfile has no digest; parse it from its bytes (parseLockfile(bytes)) so the SBOM can name it');
  }
  const { owner, name, generation } = input.environment ?? {};
  const text = `${String(owner)}/${String(name)}${generation === undefined ? '' : `:${String(generation)}`}`;
  let ref;
  try {
    ref = parseEnvironmentRef(text);
  } catch (cause) {
    throw new SbomOptionsInvalidError(`environment ${JSON.stringify(text)} is not owner/name with an optional generation ≥ 1`, { cause });
  }
  return {
    owner: ref.owner,
    name: ref.name,
    generation: ref.kind === 'generation' ? ref.generation : undefined,
    lockfileDigest: digest,
    system: input.system,
    ref: formatEnvironmentRef({ owner: ref.owner, name: ref.name, kind: 'digest', digest }),
  };
}

function wholeSeconds(timestamp: Date | undefined): Date | undefined {
  if (timestamp === undefined) return undefined;
  if (!(timestamp instanceof Date) || Number.isNaN(timestamp.getTime())) throw new SbomOptionsInvalidError('timestamp is not a valid Date');
  const ms = timestamp.getTime();
  if (ms < 0 || ms > Date.UTC(9999, 11, 31, 23, 59, 59)) throw new SbomOptionsInvalidError('timestamp must lie between 1970 and 9999');
  return new Date(ms - (ms % 1000));
}

// Every installed path and every reference must have a path info, and every path info
// must be reached from the installed paths: the SBOM lists the closure, exactly.
function checkedClosure(closure: Iterable<ClosurePathInfo>, installed: readonly string[]): Map<string, ClosurePath> {
  const byPath = new Map<string, ClosurePath>();
  for (const info of closure) {
    const path = closurePath(info);
    if (byPath.has(path.storePath)) throw new PathInfoDuplicateError(path.storePath);
    byPath.set(path.storePath, path);
  }
  const reached = new Set<string>();
  const queue: Array<{ storePath: string; referrer: string | undefined }> = installed.map((storePath) => ({ storePath, referrer: undefined }));
  for (let next = queue.shift(); next !== undefined; next = queue.shift()) {
    if (reached.has(next.storePath)) continue;
    const path = byPath.get(next.storePath);
    if (path === undefined) throw new ClosureIncompleteError(next.storePath, next.referrer);
    reached.add(next.storePath);
    for (const ref of path.references) if (!reached.has(ref)) queue.push({ storePath: ref, referrer: path.storePath });
  }
  for (const storePath of [...byPath.keys()].sort(compareStrings)) {
    if (!reached.has(storePath)) throw new ClosureUnreachableError(storePath);
  }
  return byPath;
}

interface LockedOutput {
  pkg: Exclude<LockedPackage, { kind: 'store-path' }>;
  output: string;
}

// Store path → the first lockfile entry (in lockfile order) on this system that locks it as an output.
function lockedOutputs(lockfile: Lockfile, system: NixSystem): Map<string, LockedOutput> {
  const locked = new Map<string, LockedOutput>();
  for (const pkg of lockfile.packages) {
    if (pkg.system !== system || pkg.kind === 'store-path') continue;
    for (const output of Object.keys(pkg.outputs).sort(compareStrings)) {
      const storePath = pkg.outputs[output]!;
      if (!locked.has(storePath)) locked.set(storePath, { pkg, output });
    }
  }
  return locked;
}

function component(path: ClosurePath, locked: LockedOutput | undefined): SbomComponent {
  const split = parseDrvName(path.storeName);
  // A store name such as `-1.0` splits into an empty name: keep the whole store name then.
  const name = nonEmpty(locked?.pkg.pname) ?? nonEmpty(split.name) ?? path.storeName;
  const version = nonEmpty(locked?.pkg.version) ?? split.version;
  return {
    ...path,
    name,
    version,
    purl: new PackageURL('nix', undefined, name, version === '' ? undefined : version, undefined, undefined).toString(),
    description: locked?.pkg.description,
    licenses: (locked?.pkg.licenses ?? []).map(packageLicense),
    dependsOn: path.references.filter((ref) => ref !== path.storePath),
    lockedAs: locked === undefined ? undefined : { installId: locked.pkg.installId, output: locked.output },
  };
}

function nonEmpty(text: string | undefined): string | undefined {
  return text === undefined || text === '' ? undefined : text;
}
