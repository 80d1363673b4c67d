import { FloxK8sError } from '@flox-k8s/core';

/** Base class of this package's errors; assert on `code`. */
export class KubeError extends FloxK8sError {
  static override readonly family = '@flox-k8s/kube' as const;
}

/** The Kubernetes API answered with an error (or could not be reached); `status` is the HTTP status when there was one. */
export class KubeApiError extends KubeError {
  static override readonly code = 'FLOXK8S_KUBE_API' as const;
  readonly status: number | undefined;
  constructor(message: string, status?: number, options?: { cause?: unknown }) {
    super(KubeApiError.code, message, options);
    this.status = status;
  }
}

/** A proxied request got no complete answer in time. */
export class KubeTimeoutError extends KubeError {
  static override readonly code = 'FLOXK8S_KUBE_TIMEOUT' as const;
  constructor(message: string, options?: { cause?: unknown }) {
    super(KubeTimeoutError.code, message, options);
  }
}

/** A proxied answer was larger than the caller allows. */
export class KubeResponseTooLargeError extends KubeError {
  static override readonly code = 'FLOXK8S_KUBE_RESPONSE_TOO_LARGE' as const;
  constructor(message: string) {
    super(KubeResponseTooLargeError.code, message);
  }
}

/** A request the client refuses to send (a port, namespace or path that cannot be part of a proxy URL). */
export class KubeRequestInvalidError extends KubeError {
  static override readonly code = 'FLOXK8S_KUBE_REQUEST_INVALID' as const;
  constructor(message: string) {
    super(KubeRequestInvalidError.code, message);
  }
}
