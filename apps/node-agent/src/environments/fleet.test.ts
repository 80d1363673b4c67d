// The cluster-wide query (@flox-k8s/fleet) against two real node agents behind the fake API
// server's pod proxy: real closures realised from a loopback Nix cache into two stores, pods
// seen through the watch. Beside them: an agent pod that is down, one that never answers
// and one that answers nonsense; each is reported, none is fatal.
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { publishEnvironment } from '@flox-k8s/environments';
import { startFakeApiserver, type FakeApiserver } from '@flox-k8s/fake-apiserver';
import { agentEnvironments, agentSbom, whoUses } from '@flox-k8s/fleet';
import { kubeClient, type KubeApi } from '@flox-k8s/kube';
import { nixFixtures, serveCache, type NixFixtures, type ServedCache } from '@flox-k8s/nix-fixtures';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startAgent, type RunningAgent } from '../agent.ts';
import { parseAgentConfig } from '../config.ts';
import { memoryLogger } from '../log.ts';
import { helloOnlyLockfile, until } from './test-fixture-environments.ts';

let fixtures: NixFixtures;
let cache: ServedCache;
let apiserver: FakeApiserver;
let kube: KubeApi;
let dir: string;
const agents: RunningAgent[] = [];
const fakes: Server[] = [];
let full: { generation: number; digest: string };
let hello: { generation: number; digest: string };
// Long enough for a loaded CI machine to answer; the silent agent costs each query this much.
const TIMEOUT_MS = 3_000;

const agentPod = (name: string, node: string, port: number) => ({
  metadata: { name, namespace: 'flox-system', labels: { 'app.kubernetes.io/name': 'flox-node-agent' } },
  spec: { nodeName: node, containers: [{ name: 'agent', ports: [{ name: 'metrics', containerPort: port, protocol: 'TCP' }] }] },
  status: { phase: 'Running', podIP: '127.0.0.1' },
});
const floxPod = (name: string, node: string, reference: string) => ({
  metadata: { name, namespace: 'apps', uid: `uid-${name}`, annotations: { 'flox.dev/environment': reference } },
  spec: { nodeName: node, runtimeClassName: 'flox' },
});

async function fakeAgent(handler: Parameters<typeof createServer>[1]): Promise<number> {
  const server = createServer(handler);
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  fakes.push(server);
  return (server.address() as AddressInfo).port;
}

beforeAll(async () => {
  fixtures = await nixFixtures();
  cache = await serveCache(fixtures.caches.zstd);
  apiserver = await startFakeApiserver();
  kube = kubeClient({ kubeconfig: { server: apiserver.url }, component: 'flox-k8s-cli', host: 'test' });
  dir = await mkdtemp(join(tmpdir(), 'flox-fleet-'));
  full = await publishEnvironment(join(dir, 'envs'), 'acme', 'fixture', fixtures.lockfile.bytes);
  hello = await publishEnvironment(join(dir, 'envs'), 'acme', 'hello', helloOnlyLockfile(fixtures.lockfile.bytes));
  for (const node of ['node-a', 'node-b']) {
    apiserver.addNode(node);
    const config = parseAgentConfig({
      storeRoot: join(dir, node, 'store'),
      caches: [{ url: cache.url }],
      trustedKeys: [fixtures.publicKey],
      sources: [{ type: 'dir', path: join(dir, 'envs') }],
      agentSocket: join(dir, node, 'run', 'agent.sock'),
      patchServiceDir: join(dir, node, 'run', 'patcher'),
      system: 'x86_64-linux',
      agent: { metricsHost: '127.0.0.1', metricsPort: 0, installer: { enabled: false } },
    });
    const agent = await startAgent({ config, nodeName: node, kube: kubeClient({ kubeconfig: { server: apiserver.url }, component: 'flox-node-agent', host: node }), log: memoryLogger() });
    agents.push(agent);
    apiserver.putPod(agentPod(`flox-node-agent-${node}`, node, Number(new URL(agent.observability.url).port)));
  }
  // node-a runs the whole fixture environment (two pods), node-b the smaller one.
  apiserver.putPod(floxPod('web', 'node-a', `acme/fixture:${full.generation}`));
  apiserver.putPod(floxPod('worker', 'node-a', `acme/fixture@sha256:${full.digest}`));
  apiserver.putPod(floxPod('greeter', 'node-b', `acme/hello:${hello.generation}`));
  await until('three realised events', () => apiserver.events.filter((e) => e['reason'] === 'FloxRealised').length === 3);

  const down = createServer();
  await new Promise<void>((r) => down.listen(0, '127.0.0.1', r));
  const downPort = (down.address() as AddressInfo).port;
  await new Promise((r) => down.close(r));
  apiserver.putPod(agentPod('flox-node-agent-node-c', 'node-c', downPort));
  apiserver.putPod(agentPod('flox-node-agent-node-d', 'node-d', await fakeAgent(() => undefined)));
  apiserver.putPod(agentPod('flox-node-agent-node-e', 'node-e', await fakeAgent((_req, res) => res.writeHead(200, { 'content-type': 'application/json' }).end('{"apiVersion":"flox.dev/v1alpha1","kind":"NodeEnvironments","node":"node-e"'))));
}, 300_000);

afterAll(async () => {
  for (const agent of agents) await agent.stop();
  for (const server of fakes) {
    server.closeAllConnections();
    await new Promise((r) => server.close(r));
  }
  await apiserver?.close();
  await cache?.close();
  if (dir) await rm(dir, { recursive: true, force: true });
});

describe('whoUses against two real agents', () => {
  it('finds every environment holding hello-flox, on both nodes, with the pods that use it', async () => {
    const result = await whoUses(kube, { name: 'hello-flox', versions: '>=1.0 <2' }, { timeoutMs: TIMEOUT_MS });
    expect(result.query).toBe('hello-flox >=1.0 <2');
    expect(result.matches.map((m) => ({ node: m.node, digest: m.digest, references: m.references, packages: m.packages, pods: m.pods.map((p) => p.name) }))).toEqual([
      {
        node: 'node-a',
        digest: full.digest,
        references: [`acme/fixture:${full.generation}`, `acme/fixture@sha256:${full.digest}`].sort(),
        packages: [{ storePath: fixtures.storePaths.script, name: 'hello-flox', version: '1.0' }],
        pods: ['web', 'worker'],
      },
      { node: 'node-b', digest: hello.digest, references: [`acme/hello:${hello.generation}`], packages: [{ storePath: fixtures.storePaths.script, name: 'hello-flox', version: '1.0' }], pods: ['greeter'] },
    ]);
    expect(result.complete).toBe(false);
    expect(result.agents.map((a) => [a.agent.pod, a.ok ? 'ok' : a.code])).toEqual([
      ['flox-node-agent-node-a', 'ok'],
      ['flox-node-agent-node-b', 'ok'],
      ['flox-node-agent-node-c', 'FLOXK8S_FLEET_AGENT_UNREACHABLE'],
      ['flox-node-agent-node-d', 'FLOXK8S_KUBE_TIMEOUT'],
      ['flox-node-agent-node-e', 'FLOXK8S_FLEET_AGENT_ANSWER_INVALID'],
    ]);
  });

  it('narrows by version range and by store path to the node that has it', async () => {
    expect((await whoUses(kube, { name: 'hello-flox', versions: '<1.0' }, { timeoutMs: TIMEOUT_MS })).matches).toEqual([]);
    const tree = await whoUses(kube, { storePath: fixtures.storePaths.tree }, { timeoutMs: TIMEOUT_MS });
    expect(tree.matches.map((m) => [m.node, m.digest, m.pods.map((p) => p.name)])).toEqual([['node-a', full.digest, ['web', 'worker']]]);
  });

  it('sees a pod leave, and fetches the SBOM from the agent that holds the environment', async () => {
    apiserver.deletePod('apps', 'greeter');
    await until('node-b to forget the greeter', async () => {
      const answers = await agentEnvironments(kube, { timeoutMs: TIMEOUT_MS });
      const b = answers.find((a) => a.agent.node === 'node-b');
      return b?.ok === true && b.listing.environments[0]?.pods.length === 0;
    });
    const [match] = (await whoUses(kube, { storePath: fixtures.storePaths.busybox }, { timeoutMs: TIMEOUT_MS })).matches.filter((m) => m.node === 'node-b');
    expect(match?.pods).toEqual([]);
    const spdx = JSON.parse(Buffer.from(await agentSbom(kube, match!.agent, hello.digest, 'spdx')).toString()) as { spdxVersion: string; packages: unknown[] };
    expect(spdx.spdxVersion).toBe('SPDX-2.3');
    expect(spdx.packages).toHaveLength(4);
  });
});
