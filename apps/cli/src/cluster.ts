// What the cluster-wide commands (`who-uses`, `status`) share: which kubeconfig, where the
// node agents are, how long to wait for each, and the rule for agents that do not answer.
import { existsSync } from 'node:fs';
import { hostname } from 'node:os';
import { isAbsolute, join, resolve } from 'node:path';
import type { AgentOptions } from '@flox-k8s/fleet';
import type { KubeApi } from '@flox-k8s/kube';
import type { Command } from 'commander';
import { z } from 'zod';
import type { CliEnv } from './env.ts';
import { CliFleetIncompleteError, CliKubeconfigError, CliNoAgentsError } from './errors.ts';
import { countFlag, pathFlag } from './flags.ts';

export const DEFAULT_AGENT_NAMESPACE = 'flox-system';
export const DEFAULT_AGENT_SELECTOR = 'app.kubernetes.io/name=flox-node-agent';

export function addClusterOptions(cmd: Command): void {
  cmd
    .option('--kubeconfig <file>', 'kubeconfig to use (default: $KUBECONFIG, else ~/.kube/config, else the pod\'s service account); its current context')
    .option('-n, --namespace <namespace>', `namespace of the node agent DaemonSet (default ${DEFAULT_AGENT_NAMESPACE})`)
    .option('-l, --selector <labels>', `label selector of the agent pods (default ${DEFAULT_AGENT_SELECTOR})`)
    .option('--timeout <seconds>', 'how long to wait for each agent (1-600, default 5)')
    .option('--concurrency <n>', 'agents asked at once (1-256, default 8)')
    .option('--allow-incomplete', 'exit 0 even when some agents could not answer (they are still listed)');
}

const dnsLabel = /^[a-z0-9]([-a-z0-9]{0,61}[a-z0-9])?$/;

export const clusterFlags = (env: CliEnv) =>
  z.object({
    kubeconfig: pathFlag(env).optional(),
    namespace: z.string().regex(dnsLabel, 'expected a namespace name (a DNS label)').default(DEFAULT_AGENT_NAMESPACE),
    selector: z.string().trim().min(1, 'expected a label selector').max(1024).default(DEFAULT_AGENT_SELECTOR),
    timeout: countFlag(1, 600).default(5),
    concurrency: countFlag(1, 256).default(8),
    allowIncomplete: z.boolean().default(false),
  });

export type ClusterFlags = z.output<ReturnType<typeof clusterFlags>>;

/** Where the credentials come from, as kubectl looks (but one file: KUBECONFIG lists are not merged). */
export type KubeconfigChoice = { file: string; from: string } | 'in-cluster';

export function chooseKubeconfig(flag: string | undefined, env: CliEnv): KubeconfigChoice {
  if (flag !== undefined) return { file: flag, from: '--kubeconfig' };
  if (env.kubeconfig !== undefined) {
    const files = env.kubeconfig.split(':').filter((f) => f !== '');
    if (files.length !== 1) {
      throw new CliKubeconfigError(`KUBECONFIG names ${files.length} files (${files.join(', ')}); flox-k8s reads one kubeconfig and does not merge them: pass --kubeconfig FILE`);
    }
    const file = files[0] as string;
    return { file: isAbsolute(file) ? file : resolve(env.cwd, file), from: 'KUBECONFIG' };
  }
  if (env.home !== undefined && existsSync(join(env.home, '.kube', 'config'))) return { file: join(env.home, '.kube', 'config'), from: '~/.kube/config' };
  if (env.inCluster) return 'in-cluster';
  throw new CliKubeconfigError('no kubeconfig: pass --kubeconfig FILE, set KUBECONFIG, create ~/.kube/config, or run in a pod with a service account');
}

/** A Kubernetes client with the chosen credentials; a kubeconfig that cannot be loaded is `FLOXK8S_CLI_KUBECONFIG`. */
export async function clusterClient(flags: Pick<ClusterFlags, 'kubeconfig'>, env: CliEnv): Promise<KubeApi> {
  const choice = chooseKubeconfig(flags.kubeconfig, env);
  // Loaded here, not at start-up: the Kubernetes client is the CLI's largest dependency.
  const { kubeClient } = await import('@flox-k8s/kube');
  try {
    return kubeClient({ kubeconfig: choice === 'in-cluster' ? 'in-cluster' : { file: choice.file }, component: 'flox-k8s', host: hostname() });
  } catch (cause) {
    const what = choice === 'in-cluster' ? 'the in-cluster service account' : `kubeconfig ${choice.file} (${choice.from})`;
    throw new CliKubeconfigError(`cannot load ${what}: ${(cause as Error).message}`, { cause });
  }
}

/** `@flox-k8s/fleet`'s options from the flags. */
export function fleetOptions(flags: ClusterFlags, signal: AbortSignal): AgentOptions {
  return { namespace: flags.namespace, labelSelector: flags.selector, timeoutMs: flags.timeout * 1000, concurrency: flags.concurrency, signal };
}

interface Failure {
  agent: { namespace: string; pod: string; node: string | undefined };
  code: string;
}

/**
 * The rule for agents that could not answer: none listed is `FLOXK8S_CLI_NO_AGENTS` (thrown:
 * nothing was asked); some failing is `FLOXK8S_CLI_FLEET_INCOMPLETE` (returned, so the
 * answers are still printed) unless `--allow-incomplete`; all failing is incomplete whatever
 * the flag says (no answer is not a partial answer).
 */
export function incompleteness(agents: number, failures: readonly Failure[], flags: ClusterFlags): CliFleetIncompleteError | undefined {
  if (agents === 0) {
    throw new CliNoAgentsError(`no node agent pod matches ${flags.selector} in namespace ${flags.namespace}: is the agent DaemonSet deployed there? (see --namespace, --selector)`);
  }
  if (failures.length === 0 || (flags.allowIncomplete && failures.length < agents)) return undefined;
  const named = failures
    .slice(0, 5)
    .map((f) => `${f.agent.node ?? f.agent.pod} (${f.code})`)
    .join(', ');
  const more = failures.length > 5 ? `, and ${failures.length - 5} more` : '';
  const accept = failures.length < agents ? '; --allow-incomplete accepts that' : '';
  return new CliFleetIncompleteError(`${failures.length} of ${agents} node agent${agents === 1 ? '' : 's'} could not answer: ${named}${more}; what their nodes hold is missing from the answer${accept}`);
}
