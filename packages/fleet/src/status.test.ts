// agentStatus against the fake API server's pod proxy, with loopback HTTP servers standing in
// for agents: one answering its status, one from before /status existed (404), one answering
// outside the protocol, one down. Real agents answer it in the CLI's status tests.
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import type { NodeStatus } from '@flox-k8s/agent-protocol';
import { startFakeApiserver, type FakeApiserver } from '@flox-k8s/fake-apiserver';
import { kubeClient, type KubeApi } from '@flox-k8s/kube';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { agentStatus } from './index.ts';

const STATUS: NodeStatus = {
  apiVersion: 'flox.dev/v1alpha1',
  kind: 'NodeStatus',
  node: 'node-a',
  system: 'x86_64-linux',
  agent: { version: '0.0.0', startedAt: '2026-12-03T13:00:00.000Z', ready: true, checks: [{ name: 'watch', ok: true }] },
  store: { root: '/var/lib/flox-k8s', paths: 4, narBytes: 2_600_000 },
  gc: { intervalSeconds: 300, highWatermark: 0.85, lowWatermark: 0.7, passes: 1, last: { startedAt: '2026-12-03T13:00:00.000Z', finishedAt: '2026-12-03T13:00:00.010Z', outcome: 'skipped', freedBytes: 0, deletedPaths: 0 } },
};

let apiserver: FakeApiserver;
let kube: KubeApi;
const servers: Server[] = [];
const asked: string[] = [];

async function agentAt(node: string, handler: (req: IncomingMessage, res: ServerResponse) => void): Promise<void> {
  const server = createServer((req, res) => {
    asked.push(`${node} ${req.url ?? ''}`);
    handler(req, res);
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  servers.push(server);
  apiserver.putPod({
    metadata: { name: `flox-node-agent-${node}`, namespace: 'flox-system', labels: { 'app.kubernetes.io/name': 'flox-node-agent' } },
    spec: { nodeName: node, containers: [{ name: 'agent', ports: [{ name: 'metrics', containerPort: (server.address() as AddressInfo).port, protocol: 'TCP' }] }] },
    status: { phase: 'Running', podIP: '127.0.0.1' },
  });
}

beforeAll(async () => {
  apiserver = await startFakeApiserver();
  kube = kubeClient({ kubeconfig: { server: apiserver.url }, component: 'test', host: 'test' });
  await agentAt('node-a', (_req, res) => res.writeHead(200, { 'content-type': 'application/json' }).end(JSON.stringify(STATUS)));
  await agentAt('node-b', (_req, res) => res.writeHead(404, { 'content-type': 'text/plain' }).end('not found\n'));
  await agentAt('node-c', (_req, res) => res.writeHead(200, { 'content-type': 'application/json' }).end(JSON.stringify({ ...STATUS, store: { ...STATUS.store, paths: -4 } })));
  await agentAt('node-d', (req) => req.socket.destroy());
});

afterAll(async () => {
  for (const server of servers) await new Promise((r) => server.close(r));
  await apiserver?.close();
});

describe('agentStatus', () => {
  it('GETs /status of every agent: the answer, validated, or the code of why there is none', async () => {
    const answers = await agentStatus(kube, { timeoutMs: 3_000 });
    expect(answers.map((a) => [a.agent.node, a.ok ? 'ok' : a.code])).toEqual([
      ['node-a', 'ok'],
      ['node-b', 'FLOXK8S_FLEET_AGENT_HTTP'],
      ['node-c', 'FLOXK8S_FLEET_AGENT_ANSWER_INVALID'],
      ['node-d', 'FLOXK8S_FLEET_AGENT_UNREACHABLE'],
    ]);
    expect(answers[0]).toMatchObject({ ok: true, status: STATUS });
    expect(answers[1]).toMatchObject({ message: expect.stringContaining('answered HTTP 404') });
    expect(answers[2]).toMatchObject({ message: expect.stringContaining('/status outside the protocol: store.paths') });
    expect(asked.filter((a) => !a.startsWith('node-d')).sort()).toEqual(['node-a /status', 'node-b /status', 'node-c /status']);
  });
});
