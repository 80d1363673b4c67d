// The cluster-wide query (@flox-k8s/fleet) against two real node agents behind the fake API
// server's pod proxy: real closures realised from a loopback Nix cache into two stores, pods
// seen through the watch. Beside them: an agent pod that is down, one that never answers
// and one that answers nonsense; each is reported, none is fatal.
import { agentEnvironments, agentSbom, agentStatus, whoUses } from '@flox-k8s/fleet';
import { startFleetHarness, until, type FleetHarness } from '@flox-k8s/fleet-harness';
import { kubeClient, type KubeApi } from '@flox-k8s/kube';
import type { NixFixtures } from '@flox-k8s/nix-fixtures';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startAgent } from '../agent.ts';
import { parseAgentConfig } from '../config.ts';
import { memoryLogger } from '../log.ts';
import { AGENT_VERSION } from '../version.ts';

let harness: FleetHarness;
let fixtures: NixFixtures;
let kube: KubeApi;
let full: { generation: number; digest: string };
let hello: { generation: number; digest: string };
// Long enough for a loaded CI machine to answer; the silent agent costs each query this much.
const TIMEOUT_MS = 3_000;

beforeAll(async () => {
  // The agents run in this process; the CLI's suite runs the same set-up with agent processes.
  harness = await startFleetHarness({
    launch: async ({ node, config, apiserverUrl }) => {
      const agent = await startAgent({ config: parseAgentConfig(config), nodeName: node, kube: kubeClient({ kubeconfig: { server: apiserverUrl }, component: 'flox-node-agent', host: node }), log: memoryLogger() });
      return { url: agent.observability.url, stop: () => agent.stop() };
    },
  });
  ({ fixtures } = harness);
  ({ full, hello } = harness.environments);
  kube = kubeClient({ kubeconfig: { file: harness.kubeconfig }, component: 'flox-k8s-cli', host: 'test' });
  // node-a runs the whole fixture environment (two pods), node-b the smaller one.
  await harness.runExamplePods();
  await harness.addDownAgent('node-c');
  await harness.addFakeAgent('node-d', () => undefined);
  await harness.addFakeAgent('node-e', (_req, res) => res.writeHead(200, { 'content-type': 'application/json' }).end('{"apiVersion":"flox.dev/v1alpha1","kind":"NodeEnvironments","node":"node-e"'));
}, 300_000);

afterAll(async () => {
  await harness?.close();
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
    harness.apiserver.deletePod('apps', 'greeter');
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

  it('reads every real agent\'s status: its store as realised, its version and readiness, its first GC pass', async () => {
    const answers = await agentStatus(kube, { timeoutMs: TIMEOUT_MS });
    expect(answers.map((a) => [a.agent.node, a.ok ? 'ok' : a.code])).toEqual([
      ['node-a', 'ok'],
      ['node-b', 'ok'],
      ['node-c', 'FLOXK8S_FLEET_AGENT_UNREACHABLE'],
      ['node-d', 'FLOXK8S_KUBE_TIMEOUT'],
      ['node-e', 'FLOXK8S_FLEET_AGENT_ANSWER_INVALID'],
    ]);
    const [a, b] = answers as Array<Extract<(typeof answers)[number], { ok: true }>>;
    // node-a holds the whole fixture closure; node-b the hello-flox closure (script, busybox, data).
    expect(a!.status).toMatchObject({ node: 'node-a', system: 'x86_64-linux', agent: { version: AGENT_VERSION, ready: true }, store: { paths: fixtures.closure.length } });
    expect(b!.status.store.paths).toBe(3);
    expect(b!.status.store.narBytes).toBeLessThan(a!.status.store.narBytes);
    const pass = await until('node-a\'s first GC pass', async () => {
      const [fresh] = await agentStatus(kube, { timeoutMs: TIMEOUT_MS });
      return fresh?.ok === true && fresh.status.gc.last;
    });
    expect(pass).toMatchObject({ outcome: expect.stringMatching(/^(skipped|collected)$/), freedBytes: 0 });
  });
});
