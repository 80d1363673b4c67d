// Coded errors. `instanceof` is answered by a `Symbol.for` brand plus the
// class's static `code`, so it keeps working when two copies of this package
// end up in one process (the same scheme as @flox-k8s/lockfile).

const kSbomError: unique symbol = Symbol.for('@flox-k8s/sbom.error');

/** Base class of every error this package throws. Assert on `code`. */
export class SbomError extends Error {
  /** Stable machine-readable code (`FLOXK8S_SBOM_…`). */
  readonly code: string;
  /** The code of this class; undefined on the base class. */
  static readonly code: string | undefined = undefined;

  constructor(code: string, message: string, options?: { cause?: unknown }) {
    super(message, options);
    this.name = new.target.name;
    this.code = code;
    Object.defineProperty(this, kSbomError, { value: true });
  }

  static override [Symbol.hasInstance](this: { code: string | undefined }, instance: unknown): boolean {
    if (typeof instance !== 'object' || instance === null) return false;
    if ((instance as { [kSbomError]?: unknown })[kSbomError] !== true) return false;
    return this.code === undefined || (instance as { code?: unknown }).code === this.code;
  }
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
