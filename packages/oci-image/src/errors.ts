import { FloxK8sError } from '@flox-k8s/core';

/** The options given to the image writer do not describe a valid image. */
export class ImageInputInvalidError extends FloxK8sError {
  static override readonly code = 'FLOXK8S_IMAGE_INPUT_INVALID' as const;

  constructor(message: string, options?: { cause?: unknown }) {
    super(ImageInputInvalidError.code, message, options);
  }
}

/** A layer source directory holds something a layer cannot carry (socket, device, fifo) or cannot be read. */
export class ImageSourceError extends FloxK8sError {
  static override readonly code = 'FLOXK8S_IMAGE_SOURCE_UNSUPPORTED' as const;

  constructor(message: string, options?: { cause?: unknown }) {
    super(ImageSourceError.code, message, options);
  }
}
