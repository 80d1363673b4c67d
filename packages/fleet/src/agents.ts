// Every node agent, asked through the Kubernetes API server's pod proxy: list the agent
// pods by label, then GET each one's /environments (bounded concurrency, time and size).
// One agent down, slow or talking nonsense is reported beside the others' answers, never
// fatal; only failing to list the agents is.
import { agentHttpErrorSchema, ENVIRONMENTS_PATH, environmentSbomPath, nodeEnvironmentsSchema, type NodeEnvironments, type SbomFormat } from '@flox-k8s/agent-protocol';
import { errorCode } from '@flox-k8s/core';
import type { KubeApi, PodProxyResponse, PodSummary } from '@flox-k8s/kube';
import { AgentAnswerInvalidError, AgentHttpError, AgentNotRunningError, AgentUnreachableError, FleetOptionsInvalidError } from './errors.ts';

/** The Kubernetes calls the queries make: list pods, GET through the pod proxy. */
export type FleetKube = Pick<KubeApi, 'listPods' | 'proxyGet'>;

/** Where the agents are and how long to wait for them. */
export interface AgentOptions {
  /** Namespace of the agent DaemonSet (default `flox-system`). */
  namespace?: string;
  /** Label selector of its pods (default `app.kubernetes.io/name=flox-node-agent`). */
  labelSelector?: string;
  /** Name of the container port serving /environments (default `metrics`); `port` when a pod declares none by that name. */
  portName?: string;
  /** Default 9464. */
  port?: number;
  /** Per agent (default 5 s). */
  timeoutMs?: number;
  /** Largest answer accepted from one agent (default 32 MiB). */
  maxBytes?: number;
  /** Agents asked at once (default 8). */
  concurrency?: number;
  signal?: AbortSignal;
}

/** One agent pod. */
export interface AgentRef {
  namespace: string;
  pod: string;
  node: string | undefined;
  /** The port asked, when the pod has one. */
  port: number | undefined;
}

/** What one agent said: its listing, or why there is none (`code` of the error). */
export type AgentAnswer =
  | { ok: true; agent: AgentRef; listing: NodeEnvironments }
  | { ok: false; agent: AgentRef; code: string; message: string };

const DEFAULTS = { namespace: 'flox-system', labelSelector: 'app.kubernetes.io/name=flox-node-agent', portName: 'metrics', port: 9464, timeoutMs: 5_000, maxBytes: 32 * 1024 * 1024, concurrency: 8 };

function settings(options: AgentOptions): typeof DEFAULTS & { signal: AbortSignal | undefined } {
  const s = { ...DEFAULTS, ...Object.fromEntries(Object.entries(options).filter(([, v]) => v !== undefined)), signal: options.signal };
  const positive = (name: string, value: number, max: number): void => {
    if (!Number.isInteger(value) || value < 1 || value > max) throw new FleetOptionsInvalidError(`${name} must be an integer from 1 to ${max}, found ${String(value)}`);
  };
  positive('port', s.port, 65535);
  positive('timeoutMs', s.timeoutMs, 600_000);
  positive('maxBytes', s.maxBytes, 1024 * 1024 * 1024);
  positive('concurrency', s.concurrency, 256);
  if (typeof s.labelSelector !== 'string' || s.labelSelector.trim() === '') throw new FleetOptionsInvalidError('labelSelector must select the agent pods');
  return s as typeof DEFAULTS & { signal: AbortSignal | undefined };
}

function agentRef(pod: PodSummary, portName: string, fallback: number): AgentRef {
  const named = pod.ports.find((p) => p.name === portName && p.protocol === 'TCP');
  return { namespace: pod.namespace, pod: pod.name, node: pod.nodeName, port: named?.containerPort ?? fallback };
}

function describe(agent: AgentRef): string {
  return `agent ${agent.namespace}/${agent.pod}${agent.node === undefined ? '' : ` on ${agent.node}`}`;
}

/** Turn a proxied answer into the body, or the error it stands for. */
function bodyOf(agent: AgentRef, res: PodProxyResponse): Uint8Array {
  if (res.status === 200) return res.body;
  let agentCode: string | undefined;
  let detail = '';
  try {
    const parsed = agentHttpErrorSchema.safeParse(JSON.parse(Buffer.from(res.body).toString('utf8')));
    if (parsed.success) ({ code: agentCode, message: detail } = parsed.data.error);
    else detail = String((JSON.parse(Buffer.from(res.body).toString('utf8')) as { message?: unknown }).message ?? '');
  } catch {
    detail = Buffer.from(res.body.subarray(0, 200)).toString('utf8');
  }
  const text = `${describe(agent)} answered HTTP ${res.status}${agentCode === undefined ? '' : ` ${agentCode}`}${detail === '' ? '' : `: ${detail.slice(0, 300)}`}`;
  // 502–504 without an agent error body: the API server's proxy could not reach the pod.
  if (agentCode === undefined && res.status >= 502 && res.status <= 504) throw new AgentUnreachableError(text, res.status);
  throw new AgentHttpError(text, res.status, agentCode);
}

/** What the agents' answers are checked with: a zod schema of `@flox-k8s/agent-protocol`. */
export interface AnswerSchema<T> {
  safeParse(value: unknown): { success: true; data: T } | { success: false; error: { issues: ReadonlyArray<{ path: readonly PropertyKey[]; message: string }> } };
}

async function askAgent<T>(kube: FleetKube, agent: AgentRef, pod: PodSummary, s: ReturnType<typeof settings>, path: string, schema: AnswerSchema<T>): Promise<T> {
  if (pod.phase !== 'Running' || pod.podIP === undefined || pod.podIP === '') {
    throw new AgentNotRunningError(`${describe(agent)} is ${pod.phase ?? 'in no phase'}${pod.podIP ? '' : ' without an IP'}; not asked`);
  }
  const res = await kube.proxyGet({ namespace: agent.namespace, pod: agent.pod, port: agent.port!, path, timeoutMs: s.timeoutMs, maxBytes: s.maxBytes, ...(s.signal ? { signal: s.signal } : {}) });
  let json: unknown;
  try {
    json = JSON.parse(Buffer.from(bodyOf(agent, res)).toString('utf8'));
  } catch (cause) {
    if (errorCode(cause) !== undefined) throw cause;
    throw new AgentAnswerInvalidError(`${describe(agent)} answered ${path} with something that is not JSON`, { cause });
  }
  const parsed = schema.safeParse(json);
  if (!parsed.success) {
    const issue = parsed.error.issues[0];
    throw new AgentAnswerInvalidError(`${describe(agent)} answered ${path} outside the protocol: ${issue?.path.map(String).join('.') || '(root)'}: ${issue?.message ?? 'invalid'}`);
  }
  return parsed.data;
}

/** Run `fn` over `items`, at most `limit` at once, keeping order. */
async function mapLimited<T, R>(items: readonly T[], limit: number, fn: (item: T) => Promise<R>): Promise<R[]> {
  const out: R[] = new Array<R>(items.length);
  let next = 0;
  const worker = async (): Promise<void> => {
    for (let i = next++; i < items.length; i = next++) out[i] = await fn(items[i]!);
  };
  await Promise.all(Array.from({ length: Math.min(limit, items.length) }, worker));
  return out;
}

/** One agent's answer to a GET, or why there is none (`code` of the error). */
export type AgentReply<T> = { ok: true; agent: AgentRef; answer: T } | { ok: false; agent: AgentRef; code: string; message: string };

/**
 * GET `path` of every node agent through the API server's pod proxy, checked with `schema`.
 * Lists the agent pods (`labelSelector` in `namespace`), answers come in node order; an
 * agent that is not running, cannot be reached, times out or answers outside the protocol
 * is an `ok: false` reply with the error's code. Throws only when the agent pods cannot be
 * listed (`FLOXK8S_KUBE_API`) or the options are invalid (`FLOXK8S_FLEET_OPTIONS_INVALID`).
 */
export async function askEveryAgent<T>(kube: FleetKube, path: string, schema: AnswerSchema<T>, options: AgentOptions = {}): Promise<Array<AgentReply<T>>> {
  const s = settings(options);
  const pods = (await kube.listPods(s.namespace, { labelSelector: s.labelSelector })).sort((a, b) => `${a.nodeName ?? ''}/${a.name}`.localeCompare(`${b.nodeName ?? ''}/${b.name}`));
  return mapLimited(pods, s.concurrency, async (pod): Promise<AgentReply<T>> => {
    const agent = agentRef(pod, s.portName, s.port);
    try {
      return { ok: true, agent, answer: await askAgent(kube, agent, pod, s, path, schema) };
    } catch (error) {
      return { ok: false, agent, code: errorCode(error) ?? 'FLOXK8S_FLEET_AGENT_UNREACHABLE', message: (error as Error).message };
    }
  });
}

/** Ask every node agent for its environments (`GET /environments`); see {@link askEveryAgent} for what fails how. */
export async function agentEnvironments(kube: FleetKube, options: AgentOptions = {}): Promise<AgentAnswer[]> {
  const replies = await askEveryAgent(kube, ENVIRONMENTS_PATH, nodeEnvironmentsSchema, options);
  return replies.map((r) => (r.ok ? { ok: true, agent: r.agent, listing: r.answer } : r));
}

/** One environment's SBOM from the agent of the node running it (`GET /environments/<digest>/sbom`); throws the codes above. */
export async function agentSbom(kube: FleetKube, agent: AgentRef, digest: string, format: SbomFormat, options: Pick<AgentOptions, 'timeoutMs' | 'maxBytes' | 'signal'> = {}): Promise<Uint8Array> {
  if (!/^[0-9a-f]{64}$/.test(digest)) throw new FleetOptionsInvalidError(`${JSON.stringify(digest.slice(0, 80))} is not a lockfile digest (64 lowercase hex)`);
  if (agent.port === undefined) throw new AgentNotRunningError(`${describe(agent)} has no port`);
  const s = settings(options);
  const res = await kube.proxyGet({ namespace: agent.namespace, pod: agent.pod, port: agent.port, path: environmentSbomPath(digest, format), timeoutMs: s.timeoutMs, maxBytes: s.maxBytes, ...(s.signal ? { signal: s.signal } : {}) });
  return bodyOf(agent, res);
}
