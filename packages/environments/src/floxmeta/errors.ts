// Coded errors of the floxmeta source. "Not found" errors extend EnvironmentNotFoundError
// (the next source is tried); everything else extends EnvironmentSourceError. Messages
// name the repository and what to do, never a token.
import { EnvironmentNotFoundError, EnvironmentSourceError } from '../errors.ts';

/** The owner has no floxmeta repository at the configured URL (HTTP 404 on discovery). */
export class FloxmetaOwnerNotFoundError extends EnvironmentNotFoundError {
  static override readonly code = 'FLOXK8S_FLOXMETA_OWNER_NOT_FOUND' as const;
  constructor(message: string, options?: { cause?: unknown }) {
    super(message, options, FloxmetaOwnerNotFoundError.code);
  }
}

/** The owner's floxmeta repository has no branch named after the environment. */
export class FloxmetaEnvironmentNotFoundError extends EnvironmentNotFoundError {
  static override readonly code = 'FLOXK8S_FLOXMETA_ENVIRONMENT_NOT_FOUND' as const;
  constructor(message: string, options?: { cause?: unknown }) {
    super(message, options, FloxmetaEnvironmentNotFoundError.code);
  }
}

/** The environment's metadata names no such generation (or no generation at all yet). */
export class FloxmetaGenerationNotFoundError extends EnvironmentNotFoundError {
  static override readonly code = 'FLOXK8S_FLOXMETA_GENERATION_NOT_FOUND' as const;
  constructor(message: string, options?: { cause?: unknown }) {
    super(message, options, FloxmetaGenerationNotFoundError.code);
  }
}

/** `metadata.json` is missing, not JSON, of an unknown version, or fails Flox's schema. */
export class FloxmetaMetadataInvalidError extends EnvironmentSourceError {
  static override readonly code = 'FLOXK8S_FLOXMETA_METADATA_INVALID' as const;
  constructor(message: string, options?: { cause?: unknown }) {
    super(message, options, FloxmetaMetadataInvalidError.code);
  }
}

/** The generation exists but has no `manifest.lock` (Flox allows that; a node cannot run it). */
export class FloxmetaLockfileMissingError extends EnvironmentSourceError {
  static override readonly code = 'FLOXK8S_FLOXMETA_LOCKFILE_MISSING' as const;
  constructor(message: string, options?: { cause?: unknown }) {
    super(message, options, FloxmetaLockfileMissingError.code);
  }
}

/** The generation's `manifest.lock` does not parse as a lockfile (the parser's code is in the message). */
export class FloxmetaLockfileInvalidError extends EnvironmentSourceError {
  static override readonly code = 'FLOXK8S_FLOXMETA_LOCKFILE_INVALID' as const;
  constructor(message: string, options?: { cause?: unknown }) {
    super(message, options, FloxmetaLockfileInvalidError.code);
  }
}

/** The branch was rewritten between reading its tip and fetching it; a retry reads the new tip. */
export class FloxmetaBranchMovedError extends EnvironmentSourceError {
  static override readonly code = 'FLOXK8S_FLOXMETA_BRANCH_MOVED' as const;
  constructor(message: string, options?: { cause?: unknown }) {
    super(message, options, FloxmetaBranchMovedError.code);
  }
}

/** HTTP 401: no token configured, or the token was not accepted (expired, revoked). */
export class FloxmetaUnauthorizedError extends EnvironmentSourceError {
  static override readonly code = 'FLOXK8S_FLOXMETA_UNAUTHORIZED' as const;
  constructor(message: string, options?: { cause?: unknown }) {
    super(message, options, FloxmetaUnauthorizedError.code);
  }
}

/** HTTP 403: the token is valid but may not read this owner's environments. */
export class FloxmetaForbiddenError extends EnvironmentSourceError {
  static override readonly code = 'FLOXK8S_FLOXMETA_FORBIDDEN' as const;
  constructor(message: string, options?: { cause?: unknown }) {
    super(message, options, FloxmetaForbiddenError.code);
  }
}

/** The configured token file is missing, unreadable or not one non-empty line. */
export class FloxmetaTokenMissingError extends EnvironmentSourceError {
  static override readonly code = 'FLOXK8S_FLOXMETA_TOKEN_MISSING' as const;
  constructor(message: string, options?: { cause?: unknown }) {
    super(message, options, FloxmetaTokenMissingError.code);
  }
}

/** The remote could not be talked to: connection, HTTP status, redirect, or git protocol errors. */
export class FloxmetaTransportError extends EnvironmentSourceError {
  static override readonly code = 'FLOXK8S_FLOXMETA_TRANSPORT' as const;
  constructor(message: string, options?: { cause?: unknown }) {
    super(message, options, FloxmetaTransportError.code);
  }
}

/** A response or object is larger than the source accepts. */
export class FloxmetaTooLargeError extends EnvironmentSourceError {
  static override readonly code = 'FLOXK8S_FLOXMETA_TOO_LARGE' as const;
  constructor(message: string, options?: { cause?: unknown }) {
    super(message, options, FloxmetaTooLargeError.code);
  }
}

/** The whole read did not finish within the source's `timeoutMs`. */
export class FloxmetaTimeoutError extends EnvironmentSourceError {
  static override readonly code = 'FLOXK8S_FLOXMETA_TIMEOUT' as const;
  constructor(message: string, options?: { cause?: unknown }) {
    super(message, options, FloxmetaTimeoutError.code);
  }
}
