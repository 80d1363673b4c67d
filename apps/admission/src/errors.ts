import { errorCode, FloxK8sError } from '@flox-k8s/core';

/** Base class of the admission webhook's errors; `code` is stable, messages are not. */
export class AdmissionError extends FloxK8sError {
  static override readonly family = '@flox-k8s/admission' as const;
}

/** The webhook's config file (or its environment) is unusable. */
export class AdmissionConfigInvalidError extends AdmissionError {
  static override readonly code = 'FLOXK8S_ADMISSION_CONFIG_INVALID' as const;
  constructor(message: string, options?: { cause?: unknown }) {
    super(AdmissionConfigInvalidError.code, message, options);
  }
}

/** The SBOM policy file does not parse or names a bad rule. */
export class PolicyInvalidError extends AdmissionError {
  static override readonly code = 'FLOXK8S_ADMISSION_POLICY_INVALID' as const;
  constructor(message: string, options?: { cause?: unknown }) {
    super(PolicyInvalidError.code, message, options);
  }
}

/** The TLS certificate or key cannot be read or do not make a TLS context. */
export class TlsInvalidError extends AdmissionError {
  static override readonly code = 'FLOXK8S_ADMISSION_TLS_INVALID' as const;
  constructor(message: string, options?: { cause?: unknown }) {
    super(TlsInvalidError.code, message, options);
  }
}

/** A request that is not an AdmissionReview v1 the webhook can answer (HTTP 400). */
export class ReviewInvalidError extends AdmissionError {
  static override readonly code = 'FLOXK8S_ADMISSION_REVIEW_INVALID' as const;
  readonly status: number;
  constructor(message: string, status = 400) {
    super(ReviewInvalidError.code, message);
    this.status = status;
  }
}

/** A request body over the size limit (HTTP 413). */
export class BodyTooLargeError extends AdmissionError {
  static override readonly code = 'FLOXK8S_ADMISSION_BODY_TOO_LARGE' as const;
  constructor(message: string) {
    super(BodyTooLargeError.code, message);
  }
}

/** The client sent its request too slowly (HTTP 408). */
export class RequestTimeoutError extends AdmissionError {
  static override readonly code = 'FLOXK8S_ADMISSION_REQUEST_TIMEOUT' as const;
  constructor(message: string) {
    super(RequestTimeoutError.code, message);
  }
}

/** Checking the environment took longer than the review's budget. */
export class ReviewTimeoutError extends AdmissionError {
  static override readonly code = 'FLOXK8S_ADMISSION_REVIEW_TIMEOUT' as const;
  constructor(message: string) {
    super(ReviewTimeoutError.code, message);
  }
}

/** The environment's SBOM could not be had: neither published nor computable from the caches. */
export class SbomUnavailableError extends AdmissionError {
  static override readonly code = 'FLOXK8S_ADMISSION_SBOM_UNAVAILABLE' as const;
  constructor(message: string, options?: { cause?: unknown }) {
    super(SbomUnavailableError.code, message, options);
  }
}

/** The code an error is logged and reported under. */
export function codeOf(error: unknown): string {
  return errorCode(error) ?? 'FLOXK8S_ADMISSION_INTERNAL';
}
