// The queries against the fake API server's pod proxy, with loopback HTTP servers standing
// in for agents: answering listings, down, silent, or talking nonsense. The same queries
// against two real agents run in the node agent's suite (src/environments/fleet.test.ts).
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import type { NodeEnvironments } from '@flox-k8s/agent-protocol';
import { startFakeApiserver, type FakeApiserver } from '@flox-k8s/fake-apiserver';
import { kubeClient, type KubeApi } from '@flox-k8s/kube';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { agentEnvironments, agentSbom, whoUses } from './index.ts';

const path = (hash: string, name: string): string => `/nix/store/${hash.repeat(32).slice(0, 32)}-${name}`;
const OPENSSL_13 = path('a', 'openssl-3.0.13');
const OPENSSL_14 = path('b', 'openssl-3.0.14');
const XZ = path('c', 'xz-5.6.0');
const GLIBC = path('d', 'glibc-2.40-66');
const digest = (c: string): string => c.repeat(64);

const listing = (node: string, environments: NodeEnvironments['environments']): NodeEnvironments => ({ apiVersion: 'flox.dev/v1alpha1', kind: 'NodeEnvironments', node, system: 'x86_64-linux', environments });
const LISTINGS: Record<string, NodeEnvironments> = {
  'node-a': listing('node-a', [
    {
      digest: digest('1'),
      references: ['acme/web:3'],
      generation: 3,
      storePaths: [OPENSSL_13],
      closure: [{ storePath: GLIBC, name: 'glibc', version: '2.40-66' }, { storePath: OPENSSL_13, name: 'openssl', version: '3.0.13' }],
      pods: [{ namespace: 'apps', name: 'web-1', uid: 'u1', reference: 'acme/web:3' }],
    },
  ]),
  'node-b': listing('node-b', [
    {
      digest: digest('2'),
      references: ['acme/api@sha256:' + digest('2')],
      storePaths: [OPENSSL_14, XZ],
      closure: [{ storePath: GLIBC, name: 'glibc', version: '2.40-66' }, { storePath: OPENSSL_14, name: 'openssl', version: '3.0.14' }, { storePath: XZ, name: 'xz', version: '5.6.0' }],
      pods: [],
    },
  ]),
};

let apiserver: FakeApiserver;
let kube: KubeApi;
const servers: Server[] = [];
const ports: Record<string, number> = {};
let proxied = 0;
// Long enough for a loaded CI machine to answer; the silent agent costs each query this much.
const TIMEOUT_MS = 3_000;

async function serve(name: string, handler: Parameters<typeof createServer>[1]): Promise<void> {
  const server = createServer(handler);
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  servers.push(server);
  ports[name] = (server.address() as AddressInfo).port;
}

function agentPod(name: string, node: string, port: number | undefined, running = true) {
  return {
    metadata: { name, namespace: 'flox-system', labels: { 'app.kubernetes.io/name': 'flox-node-agent' } },
    spec: { nodeName: node, containers: [{ name: 'agent', ports: port === undefined ? [] : [{ name: 'metrics', containerPort: port, protocol: 'TCP' }] }] },
    status: running ? { phase: 'Running', podIP: '127.0.0.1' } : { phase: 'Pending' },
  };
}

beforeAll(async () => {
  apiserver = await startFakeApiserver();
  kube = kubeClient({ kubeconfig: { server: apiserver.url }, component: 'test', host: 'test' });
  for (const node of ['node-a', 'node-b']) {
    await serve(node, (req, res) => {
      proxied++;
      if (req.url === `/environments/${digest('1')}/sbom?format=spdx`) return void res.writeHead(200, { 'content-type': 'application/spdx+json' }).end('{"spdxVersion":"SPDX-2.3"}');
      if (req.url?.startsWith('/environments/')) return void res.writeHead(404, { 'content-type': 'application/json' }).end(JSON.stringify({ error: { code: 'FLOXK8S_AGENT_ENVIRONMENT_UNKNOWN', message: 'no such environment' } }));
      res.writeHead(200, { 'content-type': 'application/json' }).end(JSON.stringify(LISTINGS[node]));
    });
  }
  await serve('silent', () => undefined);
  await serve('not-json', (_req, res) => res.writeHead(200).end('<html>hello</html>'));
  await serve('wrong-shape', (_req, res) => res.writeHead(200).end(JSON.stringify({ ...LISTINGS['node-a'], environments: [{ digest: 'nope' }] })));
  await serve('failing', (_req, res) => res.writeHead(500).end(JSON.stringify({ error: { code: 'FLOXK8S_AGENT_UNKNOWN', message: 'internal error: disk on fire' } })));
  const gone = createServer();
  await new Promise<void>((r) => gone.listen(0, '127.0.0.1', r));
  const closedPort = (gone.address() as AddressInfo).port;
  await new Promise((r) => gone.close(r));

  apiserver.putPod(agentPod('agent-a', 'node-a', ports['node-a']));
  apiserver.putPod(agentPod('agent-b', 'node-b', ports['node-b']));
  apiserver.putPod(agentPod('agent-c', 'node-c', closedPort));
  apiserver.putPod(agentPod('agent-d', 'node-d', ports['silent']));
  apiserver.putPod(agentPod('agent-e', 'node-e', ports['not-json']));
  apiserver.putPod(agentPod('agent-f', 'node-f', ports['wrong-shape']));
  apiserver.putPod(agentPod('agent-g', 'node-g', ports['failing']));
  apiserver.putPod(agentPod('agent-h', 'node-h', ports['node-a'], false));
  // Not an agent: other labels are never asked.
  apiserver.putPod({ ...agentPod('web-1', 'node-a', ports['node-a']), metadata: { name: 'web-1', namespace: 'flox-system', labels: { app: 'web' } } });
});

afterAll(async () => {
  await apiserver.close();
  for (const s of servers) {
    s.closeAllConnections();
    await new Promise((r) => s.close(r));
  }
});

describe('agentEnvironments', () => {
  it('asks every agent pod through the pod proxy and reports each failure with its code, without failing the whole', async () => {
    const answers = await agentEnvironments(kube, { timeoutMs: TIMEOUT_MS });
    expect(answers.map((a) => [a.agent.pod, a.ok ? 'ok' : a.code])).toEqual([
      ['agent-a', 'ok'],
      ['agent-b', 'ok'],
      ['agent-c', 'FLOXK8S_FLEET_AGENT_UNREACHABLE'],
      ['agent-d', 'FLOXK8S_KUBE_TIMEOUT'],
      ['agent-e', 'FLOXK8S_FLEET_AGENT_ANSWER_INVALID'],
      ['agent-f', 'FLOXK8S_FLEET_AGENT_ANSWER_INVALID'],
      ['agent-g', 'FLOXK8S_FLEET_AGENT_HTTP'],
      ['agent-h', 'FLOXK8S_FLEET_AGENT_NOT_RUNNING'],
    ]);
    const [a] = answers;
    expect(a).toEqual({ ok: true, agent: { namespace: 'flox-system', pod: 'agent-a', node: 'node-a', port: ports['node-a'] }, listing: LISTINGS['node-a'] });
    expect(answers.find((x) => x.agent.pod === 'agent-f')).toMatchObject({ message: expect.stringContaining('environments.0.digest') });
    expect(answers.find((x) => x.agent.pod === 'agent-g')).toMatchObject({ message: expect.stringContaining('HTTP 500 FLOXK8S_AGENT_UNKNOWN: internal error: disk on fire') });
    expect(apiserver.requests.some((r) => r.path === `/api/v1/namespaces/flox-system/pods?labelSelector=${encodeURIComponent('app.kubernetes.io/name=flox-node-agent')}`)).toBe(true);
    expect(apiserver.requests.some((r) => r.path.includes('/pods/agent-h'))).toBe(false);
    expect(apiserver.requests.some((r) => r.path.includes('/pods/web-1'))).toBe(false);
  });

  it('fails only when the agents cannot be listed', async () => {
    await expect(agentEnvironments(kube, { labelSelector: 'a in (b' })).rejects.toMatchObject({ code: 'FLOXK8S_KUBE_API', status: 400 });
    await expect(agentEnvironments(kube, { concurrency: 0 })).rejects.toMatchObject({ code: 'FLOXK8S_FLEET_OPTIONS_INVALID' });
  });
});

describe('whoUses', () => {
  it('finds the environments holding a package in a Nix version range, and the pods using them', async () => {
    const result = await whoUses(kube, { name: 'openssl', versions: '>=3.0 <3.0.14' }, { timeoutMs: TIMEOUT_MS });
    expect(result.query).toBe('openssl >=3.0 <3.0.14');
    expect(result.matches).toEqual([
      {
        node: 'node-a',
        agent: { namespace: 'flox-system', pod: 'agent-a', node: 'node-a', port: ports['node-a'] },
        digest: digest('1'),
        references: ['acme/web:3'],
        generation: 3,
        packages: [{ storePath: OPENSSL_13, name: 'openssl', version: '3.0.13' }],
        pods: [{ namespace: 'apps', name: 'web-1', uid: 'u1', reference: 'acme/web:3' }],
      },
    ]);
    expect(result.complete).toBe(false);
    expect(result.agents.filter((a) => a.ok).map((a) => a.ok && [a.node, a.environments])).toEqual([['node-a', 1], ['node-b', 1]]);
    expect(result.agents.filter((a) => !a.ok)).toHaveLength(6);
  });

  it('by name in any version, and by store path', async () => {
    expect((await whoUses(kube, { name: 'glibc' }, { timeoutMs: TIMEOUT_MS })).matches.map((m) => m.node)).toEqual(['node-a', 'node-b']);
    const byPath = await whoUses(kube, { storePath: XZ }, { timeoutMs: TIMEOUT_MS });
    expect(byPath.matches.map((m) => [m.node, m.digest, m.packages.map((p) => p.storePath)])).toEqual([['node-b', digest('2'), [XZ]]]);
    expect((await whoUses(kube, { name: 'openssl', versions: '<3' }, { timeoutMs: TIMEOUT_MS })).matches).toEqual([]);
  });

  it('refuses a bad query before asking any agent', async () => {
    const before = proxied;
    await expect(whoUses(kube, { name: 'openssl', versions: '^3.0' })).rejects.toMatchObject({ code: 'FLOXK8S_SBOM_VERSION_RANGE_INVALID' });
    await expect(whoUses(kube, { storePath: '/etc/shadow' })).rejects.toMatchObject({ code: 'FLOXK8S_SBOM_PACKAGE_SELECTOR_INVALID' });
    expect(proxied).toBe(before);
  });
});

describe('agentSbom', () => {
  it('fetches an SBOM from the agent of a node, and passes its coded errors on', async () => {
    const agent = { namespace: 'flox-system', pod: 'agent-a', node: 'node-a', port: ports['node-a'] };
    expect(Buffer.from(await agentSbom(kube, agent, digest('1'), 'spdx')).toString()).toBe('{"spdxVersion":"SPDX-2.3"}');
    await expect(agentSbom(kube, agent, digest('9'), 'spdx')).rejects.toMatchObject({ code: 'FLOXK8S_FLEET_AGENT_HTTP', status: 404, agentCode: 'FLOXK8S_AGENT_ENVIRONMENT_UNKNOWN' });
    await expect(agentSbom(kube, agent, '../x', 'spdx')).rejects.toMatchObject({ code: 'FLOXK8S_FLEET_OPTIONS_INVALID' });
  });
});
