/**
 * `@flox-k8s/containerd-config`: containerd's config as flox-k8s reads and edits it. The
 * node agent's installer adds and removes the flox runtime block with it; the CLI's
 * `doctor` reads the same load chain to tell an operator what containerd will run.
 * @module
 */
export { parseContainerdVersion, type ContainerdInfo } from './containerd-version.ts';
export {
  addRuntime,
  allCriPluginKeys,
  blockBegin,
  blockEnd,
  configFormat,
  criPluginKey,
  findRuntimeBlock,
  getPath,
  parseConfig,
  removeRuntime,
  renderRuntimeBlock,
  runcSystemdCgroup,
  runtimesPath,
  type ConfigFormat,
  type FloxRuntimeSpec,
} from './runtime-block.ts';
export { runtimeView, type RuntimeView } from './runtime-view.ts';
export { chooseInstallTarget, loadConfigChain, matchesGlob, matchesImportGlob, type InstallTarget, type LoadedConfig } from './config-imports.ts';
export { ContainerdConfigError, ContainerdConfigInvalidError, ContainerdRuntimeConflictError, ContainerdVersionError } from './errors.ts';
