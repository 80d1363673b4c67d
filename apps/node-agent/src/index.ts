/**
 * `@flox-k8s/node-agent`: the flox-k8s DaemonSet as a library (the CLI is `src/main.ts`).
 * @module
 */
export { startAgent, ENABLED_LABEL, type AgentDeps, type RunningAgent } from './agent.ts';
export { agentConfigSchema, parseAgentConfig, loadAgentConfig, shimConfigOf, type AgentConfig, type AgentSettings, type InstallerSettings } from './config.ts';
export { installRuntime, uninstallRuntime, readInstallState, shimBinaryName, type HostActions, type InstallOptions, type InstallResult, type UninstallResult, type InstallState } from './install/host-install.ts';
export { commandActions } from './install/host-commands.ts';
export { installOptionsFrom, assertShimLayoutFor, hostShimLayout, SHIM_CONFIG_FILE } from './install/install-options.ts';
export { RealiseCoordinator, flightKey } from './realise/coordinator.ts';
export { listenRealiseSocket, type RealiseSocket } from './realise/socket-server.ts';
export { storeRealiser } from './realise/store-realiser.ts';
export type { ClosureRealiser, RealiseJob, RealiseOutcome, Phase } from './realise/types.ts';
export { Prefetcher, ENVIRONMENT_ANNOTATION } from './prefetch/prefetcher.ts';
export { realisedMessage, failedMessage } from './prefetch/format.ts';
export { createMetrics, type AgentMetrics } from './metrics/metrics.ts';
export { jsonLogger, memoryLogger, type Logger } from './log.ts';
export * from './errors.ts';
export { agentImage, sharedLibraries, AGENT_IMAGE_LIBRARIES, AGENT_IMAGE_NAME, AGENT_IMAGE_TOOLS, type AgentImageInputs } from './image/agent-image.ts';
export { AGENT_BUNDLE_FILES, bundleAgent, writeAgentBundle, type AgentBundle } from './image/bundle.ts';
export { deployManifests, defaultDeployOptions, type DeployOptions } from './deploy/manifests.ts';
export { uninstallDaemonSet, UNINSTALL_NAME } from './deploy/uninstall-manifests.ts';
export { ociArchitecture, imageDigests, type ImageActions, type StubImageRecord } from './install/stub-image.ts';
