import type { GcPassReport, NodeStatus, PodUse } from '@flox-k8s/agent-protocol';
import type { AgentAnswer, AgentRef, AgentStatusAnswer } from '@flox-k8s/fleet';
import { addClusterOptions, clusterClient, clusterFlags, fleetOptions, incompleteness } from '../cluster.ts';
import { defineCommand } from '../command.ts';
import { outputSchema } from '../flags.ts';
import { formatBytes } from '../format.ts';
import { environmentLabel, podList } from '../table.ts';

/** One environment realised on a node, as `status` reports it. */
export interface StatusEnvironment {
  digest: string;
  references: string[];
  generation?: number | undefined;
  /** Paths in its closure. */
  closurePaths: number;
  pods: PodUse[];
}

/** One node agent in `status --output json`. */
export interface StatusNode {
  /** The node (from the agent's answer, else the agent pod's spec.nodeName). */
  node: string | undefined;
  agent: AgentRef;
  /** Both endpoints answered. */
  ok: boolean;
  /** The agent's `GET /status`, as it answered. */
  status?: NodeStatus;
  /** From its `GET /environments`. */
  environments?: StatusEnvironment[];
  /** What could not be read, per endpoint. */
  errors: Array<{ endpoint: '/status' | '/environments'; code: string; message: string }>;
}

/** What `status --output json` prints (also when it exits 1 for an incomplete answer). */
export interface StatusJson {
  complete: boolean;
  nodes: StatusNode[];
}

const key = (agent: AgentRef): string => `${agent.namespace}/${agent.pod}`;

/** Each agent's two answers, joined by agent pod (each list was made by its own pod listing). */
function join(statuses: readonly AgentStatusAnswer[], listings: readonly AgentAnswer[]): StatusNode[] {
  const nodes = new Map<string, StatusNode>();
  const entry = (agent: AgentRef): StatusNode => {
    let node = nodes.get(key(agent));
    if (node === undefined) nodes.set(key(agent), (node = { node: agent.node, agent, ok: true, errors: [] }));
    return node;
  };
  for (const s of statuses) {
    const node = entry(s.agent);
    if (s.ok) {
      node.status = s.status;
      node.node = s.status.node;
    } else node.errors.push({ endpoint: '/status', code: s.code, message: s.message });
  }
  for (const l of listings) {
    const node = entry(l.agent);
    if (l.ok) {
      node.environments = l.listing.environments.map((e) => ({ digest: e.digest, references: e.references, generation: e.generation, closurePaths: e.closure.length, pods: e.pods }));
      node.node = l.listing.node;
    } else node.errors.push({ endpoint: '/environments', code: l.code, message: l.message });
  }
  for (const node of nodes.values()) {
    // An agent missing from one listing (it came or went between them) was not asked that question.
    if (node.status === undefined && !node.errors.some((e) => e.endpoint === '/status')) node.errors.push({ endpoint: '/status', code: 'FLOXK8S_FLEET_AGENT_NOT_RUNNING', message: 'the agent pod appeared or went away while status was asking' });
    if (node.environments === undefined && !node.errors.some((e) => e.endpoint === '/environments')) node.errors.push({ endpoint: '/environments', code: 'FLOXK8S_FLEET_AGENT_NOT_RUNNING', message: 'the agent pod appeared or went away while status was asking' });
    node.ok = node.errors.length === 0;
  }
  return [...nodes.values()].sort((a, b) => `${a.node ?? ''}/${a.agent.pod}`.localeCompare(`${b.node ?? ''}/${b.agent.pod}`));
}

const percent = (used: number, total: number): string => `${total === 0 ? 0 : Math.round((used / total) * 100)}%`;

function gcLine(pass: GcPassReport): string {
  const when = pass.finishedAt.replace(/\.\d+Z$/, 'Z');
  if (pass.outcome === 'error') return `${when} error ${pass.code ?? ''}: ${pass.message ?? ''}`;
  if (pass.outcome === 'skipped') return `${when} skipped${pass.disk ? ` (file system ${percent(pass.disk.usedBytes, pass.disk.totalBytes)} used)` : ''}`;
  return `${when} collected ${formatBytes(pass.freedBytes)} (${pass.deletedPaths} path${pass.deletedPaths === 1 ? '' : 's'})`;
}

function renderNode(n: StatusNode): string[] {
  const s = n.status;
  const head = `${n.node ?? '-'}  ${key(n.agent)}`;
  const lines = [s === undefined ? head : `${head}  agent ${s.agent.version}  ${s.agent.ready ? 'ready' : `NOT READY (${s.agent.checks.filter((c) => !c.ok).map((c) => c.name).join(', ')} failed)`}`];
  if (s !== undefined) {
    const disk = s.store.disk === undefined ? '' : `; file system ${percent(s.store.disk.usedBytes, s.store.disk.totalBytes)} used (GC above ${percent(s.gc.highWatermark, 1)}, down to ${percent(s.gc.lowWatermark, 1)})`;
    lines.push(`  store         ${s.store.paths} path${s.store.paths === 1 ? '' : 's'}, ${formatBytes(s.store.narBytes)} in ${s.store.root}${disk}`);
    lines.push(`  last GC       ${s.gc.last === undefined ? 'none yet' : gcLine(s.gc.last)}`);
    if (s.gc.lastCollection !== undefined && s.gc.last?.outcome !== 'collected') lines.push(`  last collect  ${gcLine(s.gc.lastCollection)}`);
  }
  if (n.environments !== undefined) {
    const pods = n.environments.reduce((sum, e) => sum + e.pods.length, 0);
    lines.push(`  environments  ${n.environments.length} realised, ${pods} pod${pods === 1 ? '' : 's'} using them`);
    for (const e of n.environments) lines.push(`    ${environmentLabel(e.references, e.digest)}  ${e.closurePaths} paths  pods: ${podList(e.pods)}`);
  }
  for (const e of n.errors) lines.push(`  ${e.endpoint.padEnd(13)} ${e.code}: ${e.message}`);
  return lines;
}

function render(json: StatusJson): string {
  const lines = json.nodes.flatMap((n) => [...renderNode(n), '']);
  const failed = json.nodes.filter((n) => !n.ok).length;
  lines.push(`${json.nodes.length} node agent${json.nodes.length === 1 ? '' : 's'}: ${json.nodes.length - failed} answered${failed === 0 ? '' : `, ${failed} could not (the answer is incomplete)`}`);
  return `${lines.join('\n')}\n`;
}

export const statusCommand = defineCommand({
  name: 'status',
  summary: 'per node: store size, environments and the pods using them, last GC, agent version and readiness (through the API server)',
  help: `
Asks every node agent, through the Kubernetes API server's pod proxy, for its status
(GET /status: agent version and readiness, store paths and NAR bytes, file system, the
last GC pass and the last collection) and what it has realised (GET /environments: each
environment and the pods using it).

Exit codes: 0 every agent answered both; 1 an agent could not answer
(FLOXK8S_CLI_FLEET_INCOMPLETE; 0 with --allow-incomplete, unless none answered), no agent
pod was found (FLOXK8S_CLI_NO_AGENTS) or the API server failed; 2 usage. An agent that
answers but is not ready is reported (ready: false), not an error.
The caller needs RBAC: list pods and get pods/proxy in the agents' namespace.

Example:
  flox-k8s status --kubeconfig ~/.kube/config -o json`,
  options(cmd) {
    addClusterOptions(cmd);
  },
  schema: (env) => clusterFlags(env).extend({ output: outputSchema }),
  async run(flags, ctx) {
    const kube = await clusterClient(flags, ctx.env);
    const { agentEnvironments, agentStatus } = await import('@flox-k8s/fleet');
    const options = fleetOptions(flags, ctx.signal);
    const [statuses, listings] = await Promise.all([agentStatus(kube, options), agentEnvironments(kube, options)]);
    const nodes = join(statuses, listings);
    const json: StatusJson = { complete: nodes.every((n) => n.ok), nodes };
    const failures = nodes.filter((n) => !n.ok).map((n) => ({ agent: n.agent, code: n.errors[0]!.code }));
    const failure = incompleteness(nodes.length, failures, flags);
    return { json, human: render(json), ...(failure ? { failure } : {}) };
  },
});
