import { FloxK8sError } from '@flox-k8s/core';

/**
 * Base class of every error thrown by `@flox-k8s/oci-patch`; `code` is stable, messages are
 * not. `instanceof` holds across duplicate installs (the `@flox-k8s/core` error base).
 */
export class OciPatchError extends FloxK8sError {
  static override readonly family = '@flox-k8s/oci-patch' as const;
}

/** The spec (config.json) or exec process JSON is not a valid OCI runtime spec. */
export class OciSpecInvalidError extends OciPatchError {
  static override readonly code = 'FLOXK8S_SPEC_INVALID';
  /** Where in the document the problem is, e.g. `process.env[3]`. */
  readonly path: string;

  constructor(path: string, message: string, options?: { cause?: unknown }) {
    super(OciSpecInvalidError.code, `${path || '(root)'}: ${message}`, options);
    this.name = 'OciSpecInvalidError';
    this.path = path;
  }
}

/** The patch plan is malformed (e.g. a store path that is not `/nix/store/<hash>-<name>`). */
export class OciPatchPlanInvalidError extends OciPatchError {
  static override readonly code = 'FLOXK8S_PATCH_PLAN_INVALID';
  readonly path: string;

  constructor(path: string, message: string, options?: { cause?: unknown }) {
    super(OciPatchPlanInvalidError.code, `plan.${path}: ${message}`, options);
    this.name = 'OciPatchPlanInvalidError';
    this.path = path;
  }
}

/** A mount we must add has the same destination as a mount the container already has outside /nix. */
export class OciMountCollisionError extends OciPatchError {
  static override readonly code = 'FLOXK8S_MOUNT_COLLISION';
  readonly destination: string;

  constructor(destination: string, existing: { source?: string | undefined; type?: string | undefined }) {
    super(
      OciMountCollisionError.code,
      `mount destination ${destination} is needed for the flox environment but the container already mounts ` +
        `${existing.type ?? 'an unknown type'} from ${existing.source ?? '(no source)'} there; ` +
        `move that volume elsewhere or choose another profile path`,
    );
    this.name = 'OciMountCollisionError';
    this.destination = destination;
  }
}

/** A `flox.dev/*` annotation has a value we do not accept. */
export class OciAnnotationInvalidError extends OciPatchError {
  static override readonly code = 'FLOXK8S_ANNOTATION_INVALID';
  readonly annotation: string;

  constructor(annotation: string, message: string) {
    super(OciAnnotationInvalidError.code, `annotation ${annotation}: ${message}`);
    this.name = 'OciAnnotationInvalidError';
    this.annotation = annotation;
  }
}

/** The spec was already patched for a different environment or lockfile digest. */
export class OciSpecAlreadyPatchedError extends OciPatchError {
  static override readonly code = 'FLOXK8S_SPEC_ALREADY_PATCHED';

  constructor(found: { environment?: string | undefined; digest?: string | undefined }, wanted: { environment: string; digest: string }) {
    super(
      OciSpecAlreadyPatchedError.code,
      `spec already carries environment ${found.environment ?? '(none)'} at digest ${found.digest ?? '(none)'}, ` +
        `expected ${wanted.environment} at ${wanted.digest}; patch the original config.json, not a patched one`,
    );
    this.name = 'OciSpecAlreadyPatchedError';
  }
}
