import { FloxK8sError } from '@flox-k8s/core';

/**
 * Base class of every error this package throws. Assert on `code`. `instanceof` holds
 * across duplicate installs (the `@flox-k8s/core` error base).
 */
export class SbomError extends FloxK8sError {
  static override readonly family = '@flox-k8s/sbom' as const;
}

/** A path info (narinfo or store record) is not what it claims: no store path, a bad NarHash, size, reference or deriver. */
export class PathInfoInvalidError extends SbomError {
  static override readonly code = 'FLOXK8S_SBOM_PATH_INFO_INVALID' as const;
  /** The `storePath` of the offending path info, as given (truncated to 200 characters). */
  readonly storePath: string;

  constructor(storePath: unknown, reason: string, options?: { cause?: unknown }) {
    const shown = shorten(typeof storePath === 'string' ? storePath : String(storePath));
    super(
      PathInfoInvalidError.code,
      `invalid path info for ${JSON.stringify(shown)}: ${reason}. ` +
        'Pass the verified narinfos of the closure (or the store\'s records of it) unchanged.',
      options,
    );
    this.storePath = shown;
  }
}

/** The closure names a store path twice. */
export class PathInfoDuplicateError extends SbomError {
  static override readonly code = 'FLOXK8S_SBOM_PATH_INFO_DUPLICATE' as const;
  readonly storePath: string;

  constructor(storePath: string) {
    super(PathInfoDuplicateError.code, `the closure lists ${storePath} more than once; pass one path info per store path.`);
    this.storePath = storePath;
  }
}

/** A path the SBOM needs (an installed store path, or a reference of a closure path) has no path info. */
export class ClosureIncompleteError extends SbomError {
  static override readonly code = 'FLOXK8S_SBOM_CLOSURE_INCOMPLETE' as const;
  /** The missing store path. */
  readonly storePath: string;
  /** Who needs it: the closure path that references it, or `undefined` for a path the lockfile installs. */
  readonly referrer: string | undefined;

  constructor(storePath: string, referrer: string | undefined) {
    super(
      ClosureIncompleteError.code,
      `the closure has no path info for ${storePath}, ` +
        `${referrer === undefined ? 'which the lockfile installs' : `a reference of ${referrer}`}. ` +
        'Walk the whole closure (every reference, transitively) before making the SBOM.',
    );
    this.storePath = storePath;
    this.referrer = referrer;
  }
}

/** A path info is for a store path that no installed path reaches: the SBOM would list something the environment does not hold. */
export class ClosureUnreachableError extends SbomError {
  static override readonly code = 'FLOXK8S_SBOM_CLOSURE_UNREACHABLE' as const;
  readonly storePath: string;

  constructor(storePath: string) {
    super(
      ClosureUnreachableError.code,
      `${storePath} is not reachable from the store paths the lockfile installs for this system; ` +
        'pass exactly the closure of the environment.',
    );
    this.storePath = storePath;
  }
}

/** The options cannot describe an environment (no lockfile digest, a bad owner/name/generation, a bad timestamp). */
export class SbomOptionsInvalidError extends SbomError {
  static override readonly code = 'FLOXK8S_SBOM_OPTIONS_INVALID' as const;

  constructor(reason: string, options?: { cause?: unknown }) {
    super(SbomOptionsInvalidError.code, `invalid SBOM options: ${reason}.`, options);
  }
}

function shorten(text: string): string {
  return text.length > 200 ? `${text.slice(0, 200)}…` : text;
}

/** A version range that does not parse (see `parseVersionRange` for the grammar). */
export class VersionRangeInvalidError extends SbomError {
  static override readonly code = 'FLOXK8S_SBOM_VERSION_RANGE_INVALID' as const;
  readonly range: string;

  constructor(range: string, reason: string) {
    super(
      VersionRangeInvalidError.code,
      `invalid version range ${JSON.stringify(shorten(range))}: ${reason}. ` +
        'Write comparators such as ">=3.0 <3.0.14", alternatives joined by "||", or "*".',
    );
    this.range = shorten(range);
  }
}

/** A package selector that names neither a package nor a store path, or names a store path badly. */
export class PackageSelectorInvalidError extends SbomError {
  static override readonly code = 'FLOXK8S_SBOM_PACKAGE_SELECTOR_INVALID' as const;

  constructor(reason: string, options?: { cause?: unknown }) {
    super(PackageSelectorInvalidError.code, `invalid package selector: ${reason}.`, options);
  }
}
