import { ShimError } from '../errors.ts';

/** The options given to the image writer do not describe a valid image. */
export class ImageInputInvalidError extends ShimError {
  override readonly code = 'FLOXK8S_IMAGE_INPUT_INVALID';
}

/** A layer source directory holds something a layer cannot carry (socket, device, fifo) or cannot be read. */
export class ImageSourceError extends ShimError {
  override readonly code = 'FLOXK8S_IMAGE_SOURCE_UNSUPPORTED';
}
