export { buildImage, writeImage } from './image.ts';
export type { BuildImageOptions, BuiltImage, ImageRuntimeConfig, LayerSource } from './image.ts';
export { buildLayer, layerTar, normaliseEntries } from './layer.ts';
export type { LayerBlob, LayerCompression, LayerDefaults, LayerEntry } from './layer.ts';
export { entriesFromDirectory } from './directory.ts';
export { parseImageName } from './name.ts';
export type { ImageName } from './name.ts';
export {
  STUB_IMAGE_NAME,
  STUB_MOUNT_POINTS,
  TEST_BUSYBOX_IMAGE_NAME,
  TEST_PAUSE_IMAGE_NAME,
  stubImage,
  testBusyboxImage,
  testPauseImage,
} from './builders.ts';
export type { BusyboxImageOptions } from './builders.ts';
export { ImageInputInvalidError, ImageSourceError } from './errors.ts';
export { libraryPath, sharedLibraries } from './shared-libraries.ts';
