import { FloxK8sError } from '@flox-k8s/core';

/** The OCI bundle or process file could not be read, parsed or written. */
export class BundleInvalidError extends FloxK8sError {
  static override readonly code = 'FLOXK8S_BUNDLE_INVALID' as const;

  constructor(message: string, options?: { cause?: unknown }) {
    super(BundleInvalidError.code, message, options);
  }
}

/** The runc command line could not be understood. */
export class RuncArgvError extends FloxK8sError {
  static override readonly code = 'FLOXK8S_RUNC_ARGV' as const;

  constructor(message: string, options?: { cause?: unknown }) {
    super(RuncArgvError.code, message, options);
  }
}

/** The environment needs a shell for its hook or profile scripts, and neither it nor the image has one. */
export class WrapperShellMissingError extends FloxK8sError {
  static override readonly code = 'FLOXK8S_WRAPPER_SHELL_MISSING' as const;

  constructor(message: string, options?: { cause?: unknown }) {
    super(WrapperShellMissingError.code, message, options);
  }
}

/** The patch service could not set up its directory or FIFO. */
export class PatchServiceError extends FloxK8sError {
  static override readonly code = 'FLOXK8S_PATCH_SERVICE' as const;

  constructor(message: string, options?: { cause?: unknown }) {
    super(PatchServiceError.code, message, options);
  }
}

/** One create/exec took longer than the config's createTimeoutMs. */
export class CreateTimeoutError extends FloxK8sError {
  static override readonly code = 'FLOXK8S_CREATE_TIMEOUT' as const;

  constructor(message: string, options?: { cause?: unknown }) {
    super(CreateTimeoutError.code, message, options);
  }
}
