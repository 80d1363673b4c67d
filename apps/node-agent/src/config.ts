// The only module of the node agent that reads process.env (STYLE.md: one config module per app).
import { readFileSync } from 'node:fs';
import { hostname } from 'node:os';
import { parseConfig as parseShimConfig, shimConfigSchema, type ShimConfig } from '@flox-k8s/config';
import { z } from 'zod';
import { AgentConfigInvalidError } from './errors.ts';

export const DEFAULT_AGENT_CONFIG_PATH = '/etc/flox-k8s/agent.json';

const absolutePath = z.string().refine((p) => p.startsWith('/') && !p.split('/').includes('..'), 'expected an absolute path without ".."');
const command = z.array(z.string().min(1)).min(1);
// Host commands run in the host's namespaces (the DaemonSet has hostPID) so they see the host's containerd and systemd.
const onHost = (...argv: string[]): string[] => ['nsenter', '--target', '1', '--mount', '--uts', '--ipc', '--net', '--pid', '--', ...argv];

const installerSchema = z.strictObject({
  enabled: z.boolean().default(true),
  /** Where the host's `/` is mounted in the agent container; '' when the agent runs on the host. */
  hostRoot: z.string().default('/host'),
  containerdConfig: absolutePath.default('/etc/containerd/config.toml'),
  installDir: absolutePath.default('/opt/flox-k8s'),
  /** A directory on containerd's PATH, for containerd versions that ignore runtime_path. */
  shimLinkDir: absolutePath.default('/usr/local/bin'),
  /** The shim install layout inside the agent image, built for prefix `<installDir>/shim`. */
  shimLayout: absolutePath.default('/opt/flox-node-agent/shim-layout'),
  /** Node binary copied to the host for the runc interposer; default: the agent's own. */
  nodeBinary: absolutePath.optional(),
  runtimeName: z.string().regex(/^[a-z0-9]([-a-z0-9]*[a-z0-9])?$/, 'expected a DNS label').default('flox'),
  annotations: z.array(z.string().min(1)).default(['flox.dev/*']),
  dropInName: z.string().regex(/^[A-Za-z0-9._-]+\.toml$/, 'expected a file name ending in .toml').default('zz-flox-k8s.toml'),
  versionCommand: command.default(onHost('containerd', '--version')),
  configDefaultCommand: command.default(onHost('containerd', 'config', 'default')),
  restartCommand: command.default(onHost('systemctl', 'restart', 'containerd')),
  /** Polled after a restart until it succeeds (bounded by restartTimeoutSeconds). */
  healthCommand: command.default(onHost('ctr', 'version')),
  /** The stub image flox/empty:1.0.0 goes into containerd's k8s.io namespace with these (the tarball on stdin). */
  imageListCommand: command.default(onHost('ctr', '-n', 'k8s.io', 'images', 'ls')),
  imageImportCommand: command.default(onHost('ctr', '-n', 'k8s.io', 'images', 'import', '-')),
  imageRemoveCommand: command.default(onHost('ctr', '-n', 'k8s.io', 'images', 'rm')),
  restartTimeoutSeconds: z.number().int().positive().default(60),
});

const agentSchema = z.strictObject({
  runtimeClassName: z.string().min(1).default('flox'),
  metricsHost: z.string().default('0.0.0.0'),
  metricsPort: z.number().int().min(0).max(65535).default(9464),
  logLevel: z.enum(['debug', 'info', 'warn', 'error']).default('info'),
  /**
   * Where the host's `/` is for paths the runtime names (container bundles): `/proc/1/root` in the
   * DaemonSet (hostPID), '' when the agent runs on the host itself.
   */
  hostProcRoot: z.union([z.literal(''), absolutePath]).default('/proc/1/root'),
  /** At most one `FloxRealising` Event per pod, and one `realise progress` log line per realise, this often (start and finish always). */
  progressIntervalSeconds: z.number().positive().default(5),
  /** Lease on a pod's closure while the pod is on this node; renewed at a third of the TTL. */
  leaseTtlSeconds: z.number().int().positive().default(900),
  /**
   * How long a realise keeps going after its last caller left (0: cancel at once). kubelet gives
   * a container start ~2 minutes, then retries: the retry joins the running fetch.
   */
  realiseGraceSeconds: z.number().int().min(0).default(600),
  gc: z
    .strictObject({
      intervalSeconds: z.number().int().positive().default(300),
      /** Fractions of the store's file system: collect above high until below low. */
      highWatermark: z.number().gt(0).lte(1).default(0.85),
      lowWatermark: z.number().gt(0).lte(1).default(0.7),
      /**
       * Where the agent sees the host's file system, to find runc's state of the containers
       * whose roots the shim recorded: PID 1's root (the DaemonSet runs with hostPID; on a
       * host, the same as `/`).
       */
      hostRoot: absolutePath.default('/proc/1/root'),
    })
    .refine((g) => g.lowWatermark < g.highWatermark, 'expected lowWatermark < highWatermark')
    .default({ intervalSeconds: 300, highWatermark: 0.85, lowWatermark: 0.7, hostRoot: '/proc/1/root' }),
  prewarm: z
    .strictObject({
      namespace: z.string().min(1),
      name: z.string().min(1),
      /** ConfigMap key: one environment reference per line, `#` comments allowed. */
      key: z.string().min(1).default('environments'),
      intervalSeconds: z.number().int().positive().default(600),
    })
    .optional(),
  installer: installerSchema.default(installerSchema.parse({})),
  /** What the agent keeps between runs (the environments it realised, the pods using them); default `<storeRoot>/node-agent`. */
  stateDir: absolutePath.optional(),
  /** Bounds of that record (`GET /environments`): least recently used environments go first, never one a pod uses. */
  environments: z
    .strictObject({
      maxEnvironments: z.number().int().positive().default(512),
      maxLockfileBytes: z.number().int().positive().default(256 * 1024 * 1024),
      maxPods: z.number().int().positive().default(5_000),
    })
    .default({ maxEnvironments: 512, maxLockfileBytes: 256 * 1024 * 1024, maxPods: 5_000 }),
});

/** The agent's config file: the shim's config (shared, so both realise the same way) plus `agent`. */
export const agentConfigSchema = shimConfigSchema.extend({ agent: agentSchema.default(agentSchema.parse({})) });
export type AgentSettings = z.output<typeof agentSchema>;
export type InstallerSettings = z.output<typeof installerSchema>;
export type AgentConfig = ShimConfig & { agent: AgentSettings };

/** Validate a parsed config object; errors name the bad path. */
export function parseAgentConfig(input: unknown, source = 'agent config'): AgentConfig {
  const result = agentConfigSchema.safeParse(input);
  if (!result.success) {
    const issues = result.error.issues.map((i) => `${i.path.join('.') || '(root)'}: ${i.message}`).join('; ');
    throw new AgentConfigInvalidError(`${source}: ${issues}`);
  }
  const { agent, ...shim } = result.data;
  return { ...parseShimConfig(shim, source), agent };
}

/** The shim's part of the agent config, as the JSON the shim on the host reads. */
export function shimConfigOf(config: AgentConfig): ShimConfig {
  const { agent: _agent, ...shim } = config;
  return shim;
}

export interface AgentEnv {
  configPath: string;
  /** Node this agent serves (downward API `spec.nodeName`). */
  nodeName: string;
  /** A kubeconfig file; absent in a pod (service account). */
  kubeconfig: string | undefined;
}

export function readAgentEnv(env: NodeJS.ProcessEnv = process.env): AgentEnv {
  return {
    configPath: env['FLOXK8S_AGENT_CONFIG'] || DEFAULT_AGENT_CONFIG_PATH,
    nodeName: env['NODE_NAME'] || hostname(),
    kubeconfig: env['KUBECONFIG'] || undefined,
  };
}

export function loadAgentConfig(path: string): AgentConfig {
  let text: string;
  try {
    text = readFileSync(path, 'utf8');
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === 'ENOENT') return parseAgentConfig({}, path);
    throw new AgentConfigInvalidError(`cannot read ${path}: ${(error as Error).message}`, { cause: error });
  }
  let json: unknown;
  try {
    json = JSON.parse(text);
  } catch (error) {
    throw new AgentConfigInvalidError(`expected ${path} to be JSON, found: ${(error as Error).message}`, { cause: error });
  }
  return parseAgentConfig(json, path);
}
