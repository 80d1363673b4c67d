/**
 * `@flox-k8s/shim-layout`: the install layout of `containerd-shim-flox-v2` (the sh
 * launcher, the sh runc front and the bundled interposer, paths baked in) and how to
 * write it, here or staged for another machine. The node agent reads its names
 * (`LAUNCHER_PATH`, `FRONT_DIR`) to install and check a staged layout.
 * @module
 */
export {
  DEFAULT_COMPILE_CACHE,
  FRONT_DIR,
  LAUNCHER_NAME,
  LAUNCHER_PATH,
  installLayout,
  type InstallLayout,
  type InstallLayoutOptions,
  type ShimPrograms,
} from './layout.ts';
export { stageLayout } from './stage.ts';
export { inspectLayout, type InstalledLayout } from './inspect.ts';
export { ESM_REQUIRE_BANNER, NODE_BUNDLE_OPTIONS, buildBundle, bundleNodeProgram, installRuntimePackages, runtimePackageFiles, writeRuntimeFiles, zodEnglishOnly, type RuntimeFile } from './bundle.ts';
export { FrontBuildError, LayoutTemplateError } from './errors.ts';
export { FRONT_BINARY, FRONT_COMPILERS, compileFront } from './front.ts';
