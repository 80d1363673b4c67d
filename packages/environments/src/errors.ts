import { FloxK8sError } from '@flox-k8s/core';

/**
 * No configured environment source knows the environment (or generation). A source
 * that can say more precisely what is missing throws a subclass with its own code
 * (a floxmeta source: `FLOXK8S_FLOXMETA_OWNER_NOT_FOUND`, …); `instanceof` still holds.
 */
export class EnvironmentNotFoundError extends FloxK8sError {
  static override readonly code: string = 'FLOXK8S_ENV_NOT_FOUND';

  /** `code` is for subclasses naming what exactly is missing. */
  constructor(message: string, options?: { cause?: unknown }, code: string = EnvironmentNotFoundError.code) {
    super(code, message, options);
  }
}

/**
 * An environment source answered, but not usefully (HTTP error, bad pointer, bad lockfile,
 * I/O). Subclasses name the failure more precisely with their own code.
 */
export class EnvironmentSourceError extends FloxK8sError {
  static override readonly code: string = 'FLOXK8S_ENV_SOURCE_FAILED';

  /** `code` is for subclasses naming the failure more precisely. */
  constructor(message: string, options?: { cause?: unknown }, code: string = EnvironmentSourceError.code) {
    super(code, message, options);
  }
}

/** A `@sha256:` pin does not match the lockfile the sources returned. */
export class EnvironmentDigestMismatchError extends FloxK8sError {
  static override readonly code = 'FLOXK8S_ENV_DIGEST_MISMATCH' as const;

  constructor(message: string, options?: { cause?: unknown }) {
    super(EnvironmentDigestMismatchError.code, message, options);
  }
}

/** Publishing with SBOMs could not read the closure's path infos (a path missing from the caches, a bad signature, a cache down); nothing was written. */
export class PublishSbomError extends FloxK8sError {
  static override readonly code = 'FLOXK8S_ENV_PUBLISH_SBOM_FAILED' as const;

  constructor(message: string, options?: { cause?: unknown }) {
    super(PublishSbomError.code, message, options);
  }
}

/** A publish could not write the generation (another publish took the number, or an I/O error); nothing of it is visible. */
export class PublishFailedError extends FloxK8sError {
  static override readonly code = 'FLOXK8S_ENV_PUBLISH_FAILED' as const;

  constructor(message: string, options?: { cause?: unknown }) {
    super(PublishFailedError.code, message, options);
  }
}
