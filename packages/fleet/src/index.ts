/**
 * `@flox-k8s/fleet`: questions to every flox-k8s node agent at once, through the
 * Kubernetes API server's pod proxy: what each node has realised, and which pods run a
 * given package; and how each node is doing (store, GC, readiness).
 * @module
 */
export { agentEnvironments, agentSbom, type AgentAnswer, type AgentOptions, type AgentRef, type FleetKube } from './agents.ts';
export { agentStatus, type AgentStatusAnswer } from './status.ts';
export { whoUses, type AgentStatus, type EnvironmentMatch, type PackageQuery, type WhoUsesResult } from './who-uses.ts';
export { AgentAnswerInvalidError, AgentHttpError, AgentNotRunningError, AgentUnreachableError, FleetError, FleetOptionsInvalidError } from './errors.ts';
