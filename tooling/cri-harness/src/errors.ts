const brand: unique symbol = Symbol.for('flox-k8s.e2e.harness-error');

/** Base class of the e2e harness's errors; `code` is stable, the message is for people. */
export class HarnessError extends Error {
  readonly code: string = 'FLOXK8S_E2E_HARNESS';
  readonly [brand] = true;

  constructor(message: string, options?: { cause?: unknown }) {
    super(message, options);
    this.name = new.target.name;
  }

  static override [Symbol.hasInstance](value: unknown): boolean {
    if (typeof value !== 'object' || value === null || !(brand in value)) return false;
    if (this === HarnessError) return true;
    for (let p: unknown = Object.getPrototypeOf(value); p !== null; p = Object.getPrototypeOf(p)) {
      if ((p as { constructor?: { name?: string } }).constructor?.name === this.name) return true;
    }
    return false;
  }
}

/** No usable Debian mirror in the machine's apt sources, or apt/dpkg failed to fetch containerd. */
export class ContainerdFetchError extends HarnessError {
  override readonly code = 'FLOXK8S_E2E_CONTAINERD_FETCH';
}

/** containerd did not come up (exited, or its socket did not answer in time). */
export class ContainerdStartError extends HarnessError {
  override readonly code = 'FLOXK8S_E2E_CONTAINERD_START';
}

/** A `ctr` command (image import, task cleanup) failed. */
export class CtrCommandError extends HarnessError {
  override readonly code = 'FLOXK8S_E2E_CTR_FAILED';
}

/** A CRI call failed; `grpcCode` is the gRPC status code, `details` the runtime's message. */
export class CriCallError extends HarnessError {
  override readonly code = 'FLOXK8S_E2E_CRI_CALL';
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
  override readonly code = 'FLOXK8S_E2E_TIMEOUT';
}

/** The machine cannot run the e2e suites (not root); under CI=true this fails instead of skipping. */
export class HarnessPrerequisiteError extends HarnessError {
  override readonly code = 'FLOXK8S_E2E_PREREQUISITE';
}
