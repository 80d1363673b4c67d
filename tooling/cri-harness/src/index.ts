export { containerdBinaries, startContainerd } from './containerd.ts';
export type { ContainerdBinaries, ContainerdHandle, ContainerdVersion, StartContainerdOptions } from './containerd.ts';
export { containerdPaths, renderContainerdConfig } from './config.ts';
export type { ContainerdConfigOptions, ContainerdPaths, RuntimeEntry } from './config.ts';
export { renderToml } from './toml.ts';
export type { TomlTable, TomlValue } from './toml.ts';
export { debianMirror, machineCodename, machineDebianSources, parseDeb822Sources, parseOneLineSources } from './debian-sources.ts';
export type { DebianSource } from './debian-sources.ts';
export { FETCH_SUITES, generationPattern, inGeneration } from './containerd-generations.ts';
export { criClient } from './cri.ts';
export type { CriClient, CriClientOptions } from './cri.ts';
export type * from './cri-types.ts';
export { parseCriLog, readContainerLog } from './cri-log.ts';
export type { ContainerLog, CriLogEntry } from './cri-log.ts';
export { containerConfig, containerLogPath, hostNetworkPod, removePod, waitForContainer } from './pods.ts';
export type { ContainerOptions, HostNetworkPodOptions } from './pods.ts';
export { testImages, withTarballFile } from './images.ts';
export type { TestImages } from './images.ts';
export { e2eCacheDir, isCI } from './env.ts';
export {
  ContainerdFetchError,
  ContainerdStartError,
  CriCallError,
  CtrCommandError,
  HarnessError,
  HarnessPrerequisiteError,
  HarnessTimeoutError,
  RegistryPushError,
  RegistryStartError,
} from './errors.ts';
export { startRegistry } from './registry.ts';
export type { LocalRegistry, RegistryTraffic, StartRegistryOptions } from './registry.ts';
export { requireRoot } from './guard.ts';
export { mountsUnder, processesUnder, sweepStaleDirs, unmountAll } from './cleanup.ts';
export { runcCapture } from './capture.ts';
export type { RuncCapture } from './capture.ts';
export { rewriteTomlKeys, stockContainerdConfig } from './stock-config.ts';
