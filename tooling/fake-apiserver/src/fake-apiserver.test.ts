import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { labelSelector, podFieldSelector, startFakeApiserver, type FakeApiserver } from './index.ts';

let apiserver: FakeApiserver;
let backend: Server;
let backendPort: number;
let hanging: Server;
let hangingPort: number;

const listen = async (server: Server): Promise<number> => {
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  return (server.address() as AddressInfo).port;
};

beforeAll(async () => {
  apiserver = await startFakeApiserver();
  backend = createServer((req, res) => res.writeHead(req.url?.startsWith('/missing') ? 404 : 200, { 'content-type': 'application/json' }).end(JSON.stringify({ url: req.url })));
  backendPort = await listen(backend);
  hanging = createServer(() => undefined);
  hangingPort = await listen(hanging);
});
afterAll(async () => {
  await apiserver.close();
  backend.closeAllConnections();
  hanging.closeAllConnections();
  await new Promise((r) => backend.close(r));
  await new Promise((r) => hanging.close(r));
});

const agentPod = (name: string, port: number, labels: Record<string, string> = { app: 'agent' }, podIP: string | null = '127.0.0.1') => ({
  metadata: { name, namespace: 'flox-system', labels },
  spec: { nodeName: `node-${name}`, containers: [{ name: 'agent', ports: [{ name: 'metrics', containerPort: port }] }] },
  status: { phase: 'Running', ...(podIP === null ? {} : { podIP }) },
});

describe('selectors', () => {
  it('reads equality, set-based and existence label requirements', () => {
    const l = { app: 'agent', tier: 'node' };
    expect(labelSelector('app=agent,tier in (node, edge)')(l)).toBe(true);
    expect(labelSelector('app==agent,tier notin (node)')(l)).toBe(false);
    expect(labelSelector('app!=agent')(l)).toBe(false);
    expect(labelSelector('tier,!gone')(l)).toBe(true);
    expect(labelSelector('!tier')(l)).toBe(false);
    expect(() => labelSelector('app=(x')).toThrow(/unable to parse/);
  });

  it('reads pod field selectors and refuses unknown fields', () => {
    const pod = { metadata: { name: 'p', namespace: 'n' }, spec: { nodeName: 'a' }, status: { phase: 'Running' } };
    expect(podFieldSelector('spec.nodeName=a,status.phase!=Failed')(pod)).toBe(true);
    expect(podFieldSelector('metadata.name==q')(pod)).toBe(false);
    expect(() => podFieldSelector('spec.hostname=a')).toThrow(/field label not supported/);
  });
});

describe('the fake API server', () => {
  it('lists a namespace\'s pods by label selector, and 400s a bad selector like the real server', async () => {
    apiserver.putPod(agentPod('a', backendPort));
    apiserver.putPod(agentPod('b', backendPort, { app: 'other' }));
    apiserver.putPod({ ...agentPod('c', backendPort), metadata: { name: 'c', namespace: 'apps', labels: { app: 'agent' } } });
    const list = await (await fetch(`${apiserver.url}/api/v1/namespaces/flox-system/pods?labelSelector=${encodeURIComponent('app=agent')}`)).json();
    expect(list).toMatchObject({ kind: 'PodList', metadata: { resourceVersion: expect.any(String) } });
    expect((list as { items: Array<{ metadata: { name: string } }> }).items.map((p) => p.metadata.name)).toEqual(['a']);
    const bad = await fetch(`${apiserver.url}/api/v1/namespaces/flox-system/pods?fieldSelector=spec.hostname%3Dx`);
    expect(bad.status).toBe(400);
    expect(await bad.json()).toMatchObject({ kind: 'Status', reason: 'BadRequest', message: 'field label not supported: spec.hostname' });
  });

  it('streams a namespaced watch filtered by labels, including merge patches of pods', async () => {
    const controller = new AbortController();
    const res = await fetch(`${apiserver.url}/api/v1/namespaces/flox-system/pods?watch=true&labelSelector=app%3Dagent`, { signal: controller.signal });
    const reader = res.body!.getReader();
    const patched = await fetch(`${apiserver.url}/api/v1/namespaces/flox-system/pods/a`, {
      method: 'PATCH',
      headers: { 'content-type': 'application/merge-patch+json' },
      body: JSON.stringify({ metadata: { annotations: { x: 'y' } } }),
    });
    expect(patched.status).toBe(200);
    apiserver.putPod(agentPod('b', backendPort, { app: 'other', v: '2' }));
    const { value } = await reader.read();
    const lines = new TextDecoder().decode(value).trim().split('\n').map((l) => JSON.parse(l) as { type: string; object: { metadata: { name: string; annotations?: unknown } } });
    expect(lines).toEqual([{ type: 'MODIFIED', object: expect.objectContaining({ metadata: expect.objectContaining({ name: 'a', annotations: { x: 'y' } }) }) }]);
    controller.abort();
    const wrongType = await fetch(`${apiserver.url}/api/v1/namespaces/flox-system/pods/a`, { method: 'PATCH', headers: { 'content-type': 'application/json' }, body: '{}' });
    expect(wrongType.status).toBe(415);
  });

  it('proxies GETs to the pod\'s IP and port with the query string, passing the status through', async () => {
    const ok = await fetch(`${apiserver.url}/api/v1/namespaces/flox-system/pods/a:${backendPort}/proxy/environments?x=1`);
    expect(ok.status).toBe(200);
    expect(await ok.json()).toEqual({ url: '/environments?x=1' });
    const defaultPort = await fetch(`${apiserver.url}/api/v1/namespaces/flox-system/pods/a/proxy/healthz`);
    expect(await defaultPort.json()).toEqual({ url: '/healthz' });
    const missing = await fetch(`${apiserver.url}/api/v1/namespaces/flox-system/pods/a:${backendPort}/proxy/missing`);
    expect(missing.status).toBe(404);
    expect(await missing.json()).toEqual({ url: '/missing' });
  });

  it('answers 503 for a pod that cannot be dialled or has no IP, 404 for no pod, and holds a request the pod never answers', async () => {
    // A port that was just free: nothing listens there once its server is closed.
    const gone = createServer();
    const closed = await listen(gone);
    await new Promise((r) => gone.close(r));
    apiserver.putPod(agentPod('down', closed));
    const refused = await fetch(`${apiserver.url}/api/v1/namespaces/flox-system/pods/down:${closed}/proxy/environments`);
    expect(refused.status).toBe(503);
    expect(await refused.json()).toMatchObject({ reason: 'ServiceUnavailable', message: `error trying to reach service: dial tcp 127.0.0.1:${closed}: connect: connection refused` });
    apiserver.putPod(agentPod('pending', backendPort, { app: 'agent' }, null));
    expect((await fetch(`${apiserver.url}/api/v1/namespaces/flox-system/pods/pending/proxy/x`)).status).toBe(503);
    expect((await fetch(`${apiserver.url}/api/v1/namespaces/flox-system/pods/nope:1/proxy/x`)).status).toBe(404);
    apiserver.putPod(agentPod('hang', hangingPort));
    const timed = await fetch(`${apiserver.url}/api/v1/namespaces/flox-system/pods/hang:${hangingPort}/proxy/environments`, { signal: AbortSignal.timeout(300) }).catch((e: unknown) => e);
    expect(timed).toMatchObject({ name: 'TimeoutError' });
  });
});
