import { FloxK8sError } from '@flox-k8s/core';

/** No configured environment source knows the environment (or generation). */
export class EnvironmentNotFoundError extends FloxK8sError {
  static override readonly code = 'FLOXK8S_ENV_NOT_FOUND' as const;

  constructor(message: string, options?: { cause?: unknown }) {
    super(EnvironmentNotFoundError.code, message, options);
  }
}

/** An environment source answered, but not usefully (HTTP error, bad pointer, bad lockfile, I/O). */
export class EnvironmentSourceError extends FloxK8sError {
  static override readonly code = 'FLOXK8S_ENV_SOURCE_FAILED' as const;

  constructor(message: string, options?: { cause?: unknown }) {
    super(EnvironmentSourceError.code, message, options);
  }
}

/** A `@sha256:` pin does not match the lockfile the sources returned. */
export class EnvironmentDigestMismatchError extends FloxK8sError {
  static override readonly code = 'FLOXK8S_ENV_DIGEST_MISMATCH' as const;

  constructor(message: string, options?: { cause?: unknown }) {
    super(EnvironmentDigestMismatchError.code, message, options);
  }
}
