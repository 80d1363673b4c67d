// A small cluster for tests of the cluster-wide queries: the fake API server, real node
// agents (one per node, started by the caller's launcher: in-process for the agent's own
// tests, a child process for the CLI's), each with its own store realised from the Nix
// fixture's signed loopback cache and the same directory hub of two published environments;
// plus stand-ins for agent pods that are down or broken.
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { mkdir, mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { publishEnvironment } from '@flox-k8s/environments';
import { startFakeApiserver, type FakeApiserver } from '@flox-k8s/fake-apiserver';
import { nixFixtures, serveCache, type NixFixtures, type ServedCache } from '@flox-k8s/nix-fixtures';
import { writeKubeconfig } from './kubeconfig.ts';
import { helloOnlyLockfile } from './lockfiles.ts';
import { until } from './wait.ts';

/** What a launcher gets to start one agent. */
export interface AgentLaunch {
  node: string;
  /** The agent's config (`agent.json`'s content: the shim config plus `agent`), not yet parsed. */
  config: Record<string, unknown>;
  /** The fake API server's URL, and a kubeconfig file naming it. */
  apiserverUrl: string;
  kubeconfig: string;
  /** A directory of the agent's own (its store, sockets and config live under it). */
  dir: string;
}

export interface LaunchedAgent {
  /** The agent's HTTP endpoint (`/metrics`, `/environments`, `/status`): `http://127.0.0.1:<port>`. */
  url: string;
  stop(): Promise<void>;
}

export type AgentLauncher = (launch: AgentLaunch) => Promise<LaunchedAgent>;

export interface FleetHarnessOptions {
  launch: AgentLauncher;
  /** Nodes that get a real agent (default `node-a`, `node-b`). */
  nodes?: string[];
  /** Merged into each agent's `agent` settings (the HTTP endpoint is always 127.0.0.1, port 0, and the host installer off). */
  agentSettings?: Record<string, unknown>;
}

export interface HarnessAgent {
  node: string;
  /** `flox-system/flox-node-agent-<node>`, labelled `app.kubernetes.io/name=flox-node-agent` as the DaemonSet's pods. */
  pod: string;
  url: string;
}

export interface FleetHarness {
  dir: string;
  fixtures: NixFixtures;
  cache: ServedCache;
  apiserver: FakeApiserver;
  /** A kubeconfig file for the fake API server (what `flox-k8s --kubeconfig` reads). */
  kubeconfig: string;
  /** Published in the agents' directory hub: `acme/fixture` (the whole fixture lockfile) and `acme/hello` (hello-flox only). */
  environments: { full: PublishedRef; hello: PublishedRef };
  agents: HarnessAgent[];
  /** Puts a pod with `runtimeClassName: flox` naming `reference` on `node`, in namespace `apps` (uid `uid-<name>`). */
  putFloxPod(name: string, node: string, reference: string): void;
  /**
   * The example workload: `web` (`acme/fixture:N`) and `worker` (`acme/fixture@sha256:…`) on the
   * first node, `greeter` (`acme/hello:N`) on the second; resolves once the agents have realised
   * all three (three `FloxRealised` events).
   */
  runExamplePods(): Promise<void>;
  /** An agent pod on `node` whose port nothing listens on (the proxy answers 503). */
  addDownAgent(node: string): Promise<void>;
  /** An agent pod on `node` answered by a loopback stand-in. */
  addFakeAgent(node: string, handler: (req: IncomingMessage, res: ServerResponse) => void): Promise<void>;
  close(): Promise<void>;
}

export interface PublishedRef {
  generation: number;
  digest: string;
}

export const AGENT_NAMESPACE = 'flox-system';
export const AGENT_LABELS = { 'app.kubernetes.io/name': 'flox-node-agent' };
export const FIXTURE_SYSTEM = 'x86_64-linux';

function agentPod(node: string, port: number) {
  return {
    metadata: { name: `flox-node-agent-${node}`, namespace: AGENT_NAMESPACE, labels: AGENT_LABELS },
    spec: { nodeName: node, containers: [{ name: 'agent', ports: [{ name: 'metrics', containerPort: port, protocol: 'TCP' }] }] },
    status: { phase: 'Running', podIP: '127.0.0.1' },
  };
}

async function listen(server: Server): Promise<number> {
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  return (server.address() as AddressInfo).port;
}

/** Starts the fake API server, publishes the environments and starts one real agent per node. */
export async function startFleetHarness(options: FleetHarnessOptions): Promise<FleetHarness> {
  const nodes = options.nodes ?? ['node-a', 'node-b'];
  const fixtures = await nixFixtures();
  const cache = await serveCache(fixtures.caches.zstd);
  const apiserver = await startFakeApiserver();
  const dir = await mkdtemp(join(tmpdir(), 'flox-fleet-'));
  const launched: LaunchedAgent[] = [];
  const fakes: Server[] = [];
  const close = async (): Promise<void> => {
    for (const agent of launched) await agent.stop();
    for (const server of fakes) {
      server.closeAllConnections();
      await new Promise((r) => server.close(r));
    }
    await apiserver.close();
    await cache.close();
    await rm(dir, { recursive: true, force: true });
  };

  try {
    const kubeconfig = await writeKubeconfig(join(dir, 'kubeconfig'), apiserver.url);
    const envs = join(dir, 'envs');
    const full = await publishEnvironment(envs, 'acme', 'fixture', fixtures.lockfile.bytes);
    const hello = await publishEnvironment(envs, 'acme', 'hello', helloOnlyLockfile(fixtures.lockfile.bytes));
    const agents: HarnessAgent[] = [];
    for (const node of nodes) {
      apiserver.addNode(node);
      const home = join(dir, node);
      await mkdir(home, { recursive: true });
      const config = {
        storeRoot: join(home, 'store'),
        caches: [{ url: cache.url }],
        trustedKeys: [fixtures.publicKey],
        sources: [{ type: 'dir', path: envs }],
        agentSocket: join(home, 'run', 'agent.sock'),
        patchServiceDir: join(home, 'run', 'patcher'),
        system: FIXTURE_SYSTEM,
        agent: { ...options.agentSettings, metricsHost: '127.0.0.1', metricsPort: 0, installer: { enabled: false } },
      };
      const agent = await options.launch({ node, config, apiserverUrl: apiserver.url, kubeconfig, dir: home });
      launched.push(agent);
      const pod = agentPod(node, Number(new URL(agent.url).port));
      apiserver.putPod(pod);
      agents.push({ node, pod: `${AGENT_NAMESPACE}/${pod.metadata.name}`, url: agent.url });
    }

    const putFloxPod = (name: string, node: string, reference: string): void => {
      apiserver.putPod({
        metadata: { name, namespace: 'apps', uid: `uid-${name}`, annotations: { 'flox.dev/environment': reference } },
        spec: { nodeName: node, runtimeClassName: 'flox' },
      });
    };

    return {
      dir,
      fixtures,
      cache,
      apiserver,
      kubeconfig,
      environments: { full, hello },
      agents,
      putFloxPod,
      async runExamplePods() {
        const [first, second] = nodes as [string, string];
        const before = apiserver.events.filter((e) => e['reason'] === 'FloxRealised').length;
        putFloxPod('web', first, `acme/fixture:${full.generation}`);
        putFloxPod('worker', first, `acme/fixture@sha256:${full.digest}`);
        putFloxPod('greeter', second, `acme/hello:${hello.generation}`);
        await until('three realised events', () => apiserver.events.filter((e) => e['reason'] === 'FloxRealised').length >= before + 3, 120_000);
      },
      async addDownAgent(node) {
        const server = createServer();
        const port = await listen(server);
        await new Promise((r) => server.close(r));
        apiserver.putPod(agentPod(node, port));
      },
      async addFakeAgent(node, handler) {
        const server = createServer(handler);
        fakes.push(server);
        apiserver.putPod(agentPod(node, await listen(server)));
      },
      close,
    };
  } catch (error) {
    await close();
    throw error;
  }
}
