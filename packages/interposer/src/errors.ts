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

/** Why a mount source was refused (see MountSourceInvalidError). */
export type MountSourceProblem = 'missing' | 'symlink' | 'not-a-directory-or-file' | 'not-a-directory' | 'outside-store' | 'unsafe-parent';

/**
 * A host path the patched spec would bind-mount is not what the store made: missing, a symlink
 * (runc follows symlinks in mount sources, on the host), another kind of file, outside the store
 * root, or below a directory that someone other than root could change.
 */
export class MountSourceInvalidError extends FloxK8sError {
  static override readonly code = 'FLOXK8S_MOUNT_SOURCE_INVALID' as const;
  readonly source: string;
  readonly problem: MountSourceProblem;

  constructor(source: string, problem: MountSourceProblem, message: string, options?: { cause?: unknown }) {
    super(MountSourceInvalidError.code, message, options);
    this.source = source;
    this.problem = problem;
  }
}

/** The pod set an annotation only flox-k8s may write (it would mark the container as patched). */
export class ReservedAnnotationError extends FloxK8sError {
  static override readonly code = 'FLOXK8S_ANNOTATION_RESERVED' as const;
  readonly annotation: string;

  constructor(annotation: string) {
    super(
      ReservedAnnotationError.code,
      `annotation ${annotation} is written by flox-k8s when it patches a container; a pod may not set it: remove it from the pod's metadata`,
    );
    this.annotation = annotation;
  }
}

/** The FloxHub token a pod mounts at /var/run/secrets/flox.dev cannot be used (not a Secret volume, missing, escaping it, not one line). */
export class PodTokenInvalidError extends FloxK8sError {
  static override readonly code = 'FLOXK8S_POD_TOKEN_INVALID' as const;

  constructor(message: string, options?: { cause?: unknown }) {
    super(PodTokenInvalidError.code, message, options);
  }
}

/** The writable layer of a `flox.dev/nix-mutable` container could not be prepared. */
export class NixMutableError extends FloxK8sError {
  static override readonly code = 'FLOXK8S_NIX_MUTABLE' as const;

  constructor(message: string, options?: { cause?: unknown }) {
    super(NixMutableError.code, message, options);
  }
}
