// Which packages of an environment a query or a policy rule means: a package name with
// an optional Nix version range, or one exact store path. Used alike by the admission
// webhook's SBOM policy and the cluster-wide "who uses" query, so both read a rule the
// same way.
import { parseStorePath, parseStorePathBase, STORE_DIR } from '@flox-k8s/core';
import { PackageSelectorInvalidError } from './errors.ts';
import { parseVersionRange, versionInRange, type VersionRange } from './version-range.ts';

/** A package name (as the SBOM names components: the lockfile's pname, else Nix's split) with an optional version range, or a store path. */
export type PackageSelector = { name: string; versions?: string | undefined } | { storePath: string };

/** What a selector looks at: an SBOM component, or an entry of an agent's environment listing. */
export interface PackageIdentity {
  storePath: string;
  name: string;
  version: string;
}

/** A checked selector. */
export interface PackageMatcher {
  readonly selector: PackageSelector;
  /** `openssl >=3.0 <3.0.14`, `openssl (any version)`, `/nix/store/…-xz-5.6.0`. */
  readonly text: string;
  matches(pkg: PackageIdentity): boolean;
}

const NAME = /^[^\s/]{1,211}$/;

/**
 * Check a selector: a name of 1–211 characters without spaces or "/" (a store path name's
 * limit), a range `parseVersionRange` accepts, or a store path (full, or `<hash>-<name>`).
 * Throws `FLOXK8S_SBOM_PACKAGE_SELECTOR_INVALID` or `FLOXK8S_SBOM_VERSION_RANGE_INVALID`.
 */
export function packageMatcher(selector: PackageSelector): PackageMatcher {
  if (typeof selector !== 'object' || selector === null) throw new PackageSelectorInvalidError('expected { name, versions? } or { storePath }');
  if ('storePath' in selector && 'name' in selector) throw new PackageSelectorInvalidError('give a name or a store path, not both');
  if ('storePath' in selector) {
    const given = selector.storePath;
    if (typeof given !== 'string') throw new PackageSelectorInvalidError('storePath is not a string');
    let path: string;
    try {
      path = (given.startsWith('/') ? parseStorePath(given, STORE_DIR) : parseStorePathBase(given, STORE_DIR)).path;
    } catch (cause) {
      throw new PackageSelectorInvalidError(`${JSON.stringify(given.slice(0, 120))} is not a store path (/nix/store/<hash>-<name>)`, { cause });
    }
    return { selector: { storePath: path }, text: path, matches: (pkg) => pkg.storePath === path };
  }
  const { name, versions } = selector as { name: unknown; versions?: unknown };
  if (typeof name !== 'string' || !NAME.test(name)) throw new PackageSelectorInvalidError(`name ${JSON.stringify(String(name).slice(0, 120))} must be 1–211 characters without spaces or "/"`);
  if (versions !== undefined && typeof versions !== 'string') throw new PackageSelectorInvalidError('versions is not a string');
  const range: VersionRange | undefined = versions === undefined ? undefined : parseVersionRange(versions);
  const any = range === undefined || range.sets.some((set) => set.length === 0);
  return {
    selector: range === undefined ? { name } : { name, versions: range.text },
    text: any ? `${name} (any version)` : `${name} ${range.text}`,
    matches: (pkg) => pkg.name === name && (range === undefined || versionInRange(pkg.version, range)),
  };
}
