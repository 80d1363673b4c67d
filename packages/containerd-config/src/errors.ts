import { FloxK8sError } from '@flox-k8s/core';

/**
 * Base class of every error this package throws. Assert on `code`. `instanceof` holds
 * across duplicate installs (the `@flox-k8s/core` error base).
 */
export class ContainerdConfigError extends FloxK8sError {
  static override readonly family = '@flox-k8s/containerd-config' as const;
}

/** The containerd config (or an imported file) is not valid TOML or has an unusable shape. */
export class ContainerdConfigInvalidError extends ContainerdConfigError {
  static override readonly code = 'FLOXK8S_CONTAINERD_CONFIG_INVALID' as const;
  constructor(message: string, options?: { cause?: unknown }) {
    super(ContainerdConfigInvalidError.code, message, options);
  }
}

/** A runtime of the flox runtime's name exists outside the marked block; it is never overwritten. */
export class ContainerdRuntimeConflictError extends ContainerdConfigError {
  static override readonly code = 'FLOXK8S_CONTAINERD_RUNTIME_CONFLICT' as const;
  constructor(message: string) {
    super(ContainerdRuntimeConflictError.code, message);
  }
}

/** `containerd --version` printed something unreadable, or a containerd older than 1.6. */
export class ContainerdVersionError extends ContainerdConfigError {
  static override readonly code = 'FLOXK8S_CONTAINERD_VERSION' as const;
  constructor(message: string, options?: { cause?: unknown }) {
    super(ContainerdVersionError.code, message, options);
  }
}
