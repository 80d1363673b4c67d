/**
 * `@flox-k8s/fleet-harness` (private tooling): real node agents behind the fake Kubernetes API
 * server, with stores realised from the Nix fixtures, for tests of the cluster-wide queries
 * (the agent's own, in-process; the CLI's, as child processes).
 * @module
 */
export {
  AGENT_LABELS,
  AGENT_NAMESPACE,
  FIXTURE_SYSTEM,
  startFleetHarness,
  type AgentLaunch,
  type AgentLauncher,
  type FleetHarness,
  type FleetHarnessOptions,
  type HarnessAgent,
  type LaunchedAgent,
  type PublishedRef,
} from './harness.ts';
export { agentProcessLauncher, type AgentProcess, type AgentProgram } from './agent-process.ts';
export { writeKubeconfig } from './kubeconfig.ts';
export { helloOnlyLockfile } from './lockfiles.ts';
export { until } from './wait.ts';
