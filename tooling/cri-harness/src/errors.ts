import { FloxK8sError } from '@flox-k8s/core';

/** Base class of the harness's errors; `code` is stable, the message is for people. */
export class HarnessError extends FloxK8sError {
  static override readonly family = '@flox-k8s/cri-harness' as const;

  constructor(message: string, options?: { cause?: unknown }) {
    // Each subclass owns one code (its static `code`).
    super((new.target as { code?: string | undefined }).code ?? 'FLOXK8S_E2E_HARNESS', message, options);
  }
}

/** No usable Debian mirror in the machine's apt sources, or apt/dpkg failed to fetch containerd. */
export class ContainerdFetchError extends HarnessError {
  static override readonly code = 'FLOXK8S_E2E_CONTAINERD_FETCH' as const;
}

/** containerd did not come up (exited, or its socket did not answer in time). */
export class ContainerdStartError extends HarnessError {
  static override readonly code = 'FLOXK8S_E2E_CONTAINERD_START' as const;
}

/** A `ctr` command (image import, task cleanup) failed. */
export class CtrCommandError extends HarnessError {
  static override readonly code = 'FLOXK8S_E2E_CTR_FAILED' as const;
}

/** A CRI call failed; `grpcCode` is the gRPC status code, `details` the runtime's message. */
export class CriCallError extends HarnessError {
  static override readonly code = 'FLOXK8S_E2E_CRI_CALL' as const;
  readonly method: string;
  readonly grpcCode: number;
  readonly details: string;

  constructor(method: string, grpcCode: number, details: string, options?: { cause?: unknown }) {
    super(`CRI ${method} failed (gRPC status ${grpcCode}): ${details}`, options);
    this.method = method;
    this.grpcCode = grpcCode;
    this.details = details;
  }
}

/** A bounded wait ran out (lock, socket, container state). */
export class HarnessTimeoutError extends HarnessError {
  static override readonly code = 'FLOXK8S_E2E_TIMEOUT' as const;
}

/** The machine cannot run the e2e suites (not root); under CI=true this fails instead of skipping. */
export class HarnessPrerequisiteError extends HarnessError {
  static override readonly code = 'FLOXK8S_E2E_PREREQUISITE' as const;
}

/** The loopback docker-registry did not come up (binary missing, exited, or no answer on /v2/ in time). */
export class RegistryStartError extends HarnessError {
  static override readonly code = 'FLOXK8S_E2E_REGISTRY_START' as const;
}

/** `skopeo copy` of an image into the loopback registry failed. */
export class RegistryPushError extends HarnessError {
  static override readonly code = 'FLOXK8S_E2E_REGISTRY_PUSH' as const;
}
