// "How is each node doing?": every agent's GET /status (store usage, GC, version, readiness).
import { nodeStatusSchema, STATUS_PATH, type NodeStatus } from '@flox-k8s/agent-protocol';
import { askEveryAgent, type AgentOptions, type AgentRef, type FleetKube } from './agents.ts';

/** One agent's status, or why there is none (`code` of the error). */
export type AgentStatusAnswer = { ok: true; agent: AgentRef; status: NodeStatus } | { ok: false; agent: AgentRef; code: string; message: string };

/**
 * Ask every node agent for its status (`GET /status` through the pod proxy, validated with
 * `nodeStatusSchema`). Answers come in node order; a failing agent is an `ok: false` answer
 * with its code (an agent without the endpoint: `FLOXK8S_FLEET_AGENT_HTTP`, status 404).
 * Throws only when the agent pods cannot be listed or the options are invalid.
 */
export async function agentStatus(kube: FleetKube, options: AgentOptions = {}): Promise<AgentStatusAnswer[]> {
  const replies = await askEveryAgent(kube, STATUS_PATH, nodeStatusSchema, options);
  return replies.map((r) => (r.ok ? { ok: true, agent: r.agent, status: r.answer } : r));
}
