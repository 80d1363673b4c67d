import { ShimError } from '../errors.ts';

/** The patch service could not set up its directory or FIFO. */
export class PatchServiceError extends ShimError {
  override readonly code = 'FLOXK8S_PATCH_SERVICE';
}

/** One create/exec took longer than the config's createTimeoutMs. */
export class CreateTimeoutError extends ShimError {
  override readonly code = 'FLOXK8S_CREATE_TIMEOUT';
}
