import { FloxK8sError } from '@flox-k8s/core';

/**
 * Every error thrown by `@flox-k8s/store` carries a stable `code`; `instanceof` holds
 * across duplicate installs (the `@flox-k8s/core` error base).
 */
export class StoreError extends FloxK8sError {
  static override readonly family = '@flox-k8s/store' as const;
}

/** A store path string is not `<storeDir>/<hash>-<name>`: `@flox-k8s/core`'s, the one owner of `FLOXK8S_STORE_PATH_INVALID`. */
export { StorePathInvalidError } from '@flox-k8s/core';

/** The filesystem holding the store ran out of space (ENOSPC / EDQUOT). */
export class StoreDiskFullError extends StoreError {
  constructor(message: string, options?: { cause?: unknown }) {
    super('FLOXK8S_STORE_DISK_FULL', message, options);
    this.name = 'StoreDiskFullError';
  }
}

/** The caller's AbortSignal fired. */
export class StoreAbortedError extends StoreError {
  constructor(message: string, options?: { cause?: unknown }) {
    super('FLOXK8S_STORE_ABORTED', message, options);
    this.name = 'StoreAbortedError';
  }
}

/** Fetching or unpacking a path from the binary caches failed. */
export class StoreFetchError extends StoreError {
  constructor(message: string, options?: { cause?: unknown }) {
    super('FLOXK8S_STORE_FETCH_FAILED', message, options);
    this.name = 'StoreFetchError';
  }
}

/** Two packages of equal priority provide the same file in a profile. */
export class ProfileConflictError extends StoreError {
  readonly packages: readonly [string, string];
  readonly file: string;

  constructor(message: string, packages: readonly [string, string], file: string, options?: { cause?: unknown }) {
    super('FLOXK8S_STORE_PROFILE_CONFLICT', message, options);
    this.name = 'ProfileConflictError';
    this.packages = packages;
    this.file = file;
  }
}

/** A directory/non-directory collision that no priority can resolve (Nix buildEnv rejects these too). */
export class ProfileCollisionError extends StoreError {
  constructor(message: string, options?: { cause?: unknown }) {
    super('FLOXK8S_STORE_PROFILE_COLLISION', message, options);
    this.name = 'ProfileCollisionError';
  }
}

/** A profile was asked for a path that is not realised in the store. */
export class StorePathMissingError extends StoreError {
  constructor(message: string, options?: { cause?: unknown }) {
    super('FLOXK8S_STORE_PATH_MISSING', message, options);
    this.name = 'StorePathMissingError';
  }
}

/** Waiting for a lock held by a live process took longer than allowed. */
export class StoreLockTimeoutError extends StoreError {
  constructor(message: string, options?: { cause?: unknown }) {
    super('FLOXK8S_STORE_LOCK_TIMEOUT', message, options);
    this.name = 'StoreLockTimeoutError';
  }
}

/** Invalid options (lease ttl, watermarks, names). */
export class StoreOptionsError extends StoreError {
  constructor(message: string, options?: { cause?: unknown }) {
    super('FLOXK8S_STORE_OPTIONS_INVALID', message, options);
    this.name = 'StoreOptionsError';
  }
}

/** Metadata on disk could not be parsed (corruption, foreign files). */
export class StoreMetadataError extends StoreError {
  constructor(message: string, options?: { cause?: unknown }) {
    super('FLOXK8S_STORE_METADATA_INVALID', message, options);
    this.name = 'StoreMetadataError';
  }
}

const DISK_FULL_CODES = new Set(['ENOSPC', 'EDQUOT']);

/** True when `err` (or any error in its cause chain) is a disk-full errno. */
export function isDiskFull(err: unknown): boolean {
  for (let e: unknown = err, depth = 0; e !== undefined && e !== null && depth < 8; depth++) {
    const code = (e as { code?: unknown }).code;
    if (typeof code === 'string' && DISK_FULL_CODES.has(code)) return true;
    if (e instanceof StoreDiskFullError) return true;
    e = (e as { cause?: unknown }).cause;
  }
  return false;
}
