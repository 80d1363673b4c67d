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

/** Where a failed write happened: the errno (`ENOSPC`, `EIO`, …) and the file, when known. */
export interface WriteFailureDetails {
  cause?: unknown;
  errno?: string | undefined;
  file?: string | undefined;
}

/** A failed write, with its errno and file when known. */
class StoreWriteFailure extends StoreError {
  readonly errno: string | undefined;
  readonly file: string | undefined;

  constructor(code: string, message: string, options?: WriteFailureDetails) {
    super(code, message, options);
    this.errno = options?.errno ?? errnoIn(options?.cause);
    this.file = options?.file;
  }
}

/** The filesystem holding the store ran out of space or inodes (ENOSPC / EDQUOT). */
export class StoreDiskFullError extends StoreWriteFailure {
  constructor(message: string, options?: WriteFailureDetails) {
    super('FLOXK8S_STORE_DISK_FULL', message, options);
    this.name = 'StoreDiskFullError';
  }
}

/** A write, fsync, rename or create in the store failed for another reason than a full disk (EIO, EROFS, …). */
export class StoreWriteError extends StoreWriteFailure {
  constructor(message: string, options?: WriteFailureDetails) {
    super('FLOXK8S_STORE_WRITE_FAILED', message, options);
    this.name = 'StoreWriteError';
  }
}

/** Why a GC root could not be used. */
export type GcRootProblem = 'unreadable' | 'not-a-file' | 'empty' | 'too-large' | 'torn' | 'schema' | 'unexpected-entry';

/**
 * A lease, pin or in-flight root (or the directory holding them) could not be read or
 * validated. GC fails closed: it stops before deleting anything, because the damaged
 * root may protect paths that are in use.
 */
export class GcRootUnreadableError extends StoreError {
  /** The root file or directory. */
  readonly file: string;
  readonly reason: GcRootProblem;

  constructor(message: string, file: string, reason: GcRootProblem, options?: { cause?: unknown }) {
    super('FLOXK8S_STORE_GC_ROOT_UNREADABLE', message, options);
    this.name = 'GcRootUnreadableError';
    this.file = file;
    this.reason = reason;
  }
}

/** Narinfos of paths to fetch reference each other in a cycle (only self-references are legal in Nix). */
export class StoreReferenceCycleError extends StoreError {
  /** The store paths of the cycle, each referencing the next (the last references the first). */
  readonly cycle: readonly string[];

  constructor(message: string, cycle: readonly string[], options?: { cause?: unknown }) {
    super('FLOXK8S_STORE_REFERENCE_CYCLE', message, options);
    this.name = 'StoreReferenceCycleError';
    this.cycle = cycle;
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

/** The module NAR fetch threads run does not exist (a bundled store given no `fetchWorker`). */
export class StoreFetchWorkerMissingError extends StoreError {
  constructor(message: string, options?: { cause?: unknown }) {
    super('FLOXK8S_STORE_FETCH_WORKER_MISSING', message, options);
    this.name = 'StoreFetchWorkerMissingError';
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

/** The first errno code (`E…`) in `err`'s cause chain. */
export function errnoIn(err: unknown): string | undefined {
  for (let e: unknown = err, depth = 0; typeof e === 'object' && e !== null && depth < 8; depth++) {
    const code = (e as { code?: unknown }).code;
    if (typeof code === 'string' && /^E[A-Z0-9]+$/.test(code)) return code;
    e = (e as { cause?: unknown }).cause;
  }
  return undefined;
}

/**
 * A failed file system call as the store's coded error: a full disk is
 * `FLOXK8S_STORE_DISK_FULL`, anything else `FLOXK8S_STORE_WRITE_FAILED`; the
 * store's own errors pass through. `action` says what failed ("writing the lease x").
 */
export function writeFailure(err: unknown, action: string, file: string): StoreError {
  if (err instanceof StoreError) return err;
  const errno = errnoIn(err);
  const detail = (err as Error | null)?.message ?? String(err);
  if (isDiskFull(err)) {
    return new StoreDiskFullError(`no space left: ${action} (${file}) failed: ${detail}; nothing was half-written. Free space or raise the GC watermarks`, {
      cause: err,
      errno,
      file,
    });
  }
  return new StoreWriteError(`${action} (${file}) failed with ${errno ?? 'an error'}: ${detail}; nothing was half-written`, { cause: err, errno, file });
}

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
