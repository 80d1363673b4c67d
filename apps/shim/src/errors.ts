const brand: unique symbol = Symbol.for('flox-k8s.shim.error');

/** Base class of every error the shim raises; `code` is stable, the message is for people. */
export class ShimError extends Error {
  readonly code: string = 'FLOXK8S_SHIM_ERROR';
  readonly [brand] = true;

  constructor(message: string, options?: { cause?: unknown }) {
    super(message, options);
    this.name = new.target.name;
  }

  static override [Symbol.hasInstance](value: unknown): boolean {
    if (typeof value !== 'object' || value === null || !(brand in value)) return false;
    if (this === ShimError) return true;
    // Compare class names along the chain so a duplicate install's subclasses still match.
    for (let p: unknown = Object.getPrototypeOf(value); p !== null; p = Object.getPrototypeOf(p)) {
      if ((p as { constructor?: { name?: string } }).constructor?.name === this.name) return true;
    }
    return false;
  }
}

/** The config file is missing, unreadable or does not match the schema. */
export class ConfigInvalidError extends ShimError {
  override readonly code = 'FLOXK8S_CONFIG_INVALID';
}

/** An environment reference or annotation is malformed. */
export class AnnotationInvalidError extends ShimError {
  override readonly code = 'FLOXK8S_ANNOTATION_INVALID';
}

/** No configured environment source knows the environment (or generation). */
export class EnvironmentNotFoundError extends ShimError {
  override readonly code = 'FLOXK8S_ENV_NOT_FOUND';
}

/** An environment source answered, but not usefully (HTTP error, bad pointer, I/O). */
export class EnvironmentSourceError extends ShimError {
  override readonly code = 'FLOXK8S_ENV_SOURCE_FAILED';
}

/** A `@sha256:` pin does not match the lockfile the sources returned. */
export class EnvironmentDigestMismatchError extends ShimError {
  override readonly code = 'FLOXK8S_ENV_DIGEST_MISMATCH';
}

/** Realising the closure failed (agent or in-process store). */
export class RealiseFailedError extends ShimError {
  override readonly code: string = 'FLOXK8S_REALISE_FAILED';

  constructor(message: string, options?: { cause?: unknown; code?: string }) {
    super(message, options);
    if (options?.code !== undefined) this.code = options.code;
  }
}

/** The node agent's realise socket answered with something outside the protocol. */
export class AgentProtocolError extends ShimError {
  override readonly code = 'FLOXK8S_AGENT_PROTOCOL';
}

/** The OCI bundle or process file could not be read, parsed or written. */
export class BundleInvalidError extends ShimError {
  override readonly code = 'FLOXK8S_BUNDLE_INVALID';
}

/** The runc command line could not be understood. */
export class RuncArgvError extends ShimError {
  override readonly code = 'FLOXK8S_RUNC_ARGV';
}

/** Command-line flags (install-layout, demo) are invalid. */
export class UsageError extends ShimError {
  override readonly code = 'FLOXK8S_USAGE';
}

/** The demo could not run: a tool, privilege or step is missing. */
export class DemoError extends ShimError {
  override readonly code: string = 'FLOXK8S_DEMO_FAILED';

  constructor(message: string, options?: { cause?: unknown; code?: string }) {
    super(message, options);
    if (options?.code !== undefined) this.code = options.code;
  }
}

/** The error code of any flox-k8s error (ours or a package's), else undefined. */
export function errorCode(error: unknown): string | undefined {
  if (typeof error === 'object' && error !== null && 'code' in error) {
    const code = (error as { code: unknown }).code;
    if (typeof code === 'string' && code.startsWith('FLOXK8S_')) return code;
  }
  return undefined;
}
