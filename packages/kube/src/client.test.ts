import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { kubeClient } from './client.ts';
import { startFakeApiserver, type FakeApiserver } from '@flox-k8s/fake-apiserver';
import type { PodWatchEvent } from './types.ts';

let apiserver: FakeApiserver;
const client = () => kubeClient({ kubeconfig: { server: apiserver.url }, component: 'flox-node-agent', host: 'node-a', restartDelayMs: 50 });

beforeEach(async () => {
  apiserver = await startFakeApiserver();
  apiserver.addNode('node-a', { keep: 'me' });
});
afterEach(async () => {
  await apiserver.close();
});

describe('kubeClient', () => {
  it('sets and removes node labels with a merge patch', async () => {
    const kube = client();
    await kube.patchNodeLabels('node-a', { 'flox.dev/enabled': 'true' });
    expect(apiserver.node('node-a')?.metadata['labels']).toEqual({ keep: 'me', 'flox.dev/enabled': 'true' });
    await kube.patchNodeLabels('node-a', { 'flox.dev/enabled': null });
    expect(apiserver.node('node-a')?.metadata['labels']).toEqual({ keep: 'me' });
  });

  it('reports API errors with a code and the HTTP status', async () => {
    await expect(client().patchNodeLabels('missing', { a: 'b' })).rejects.toMatchObject({ code: 'FLOXK8S_KUBE_API', status: 404 });
  });

  it('reads a ConfigMap, and undefined when it is absent', async () => {
    apiserver.setConfigMap('flox-system', 'flox-prewarm', { environments: 'acme/a\n' });
    expect(await client().readConfigMap('flox-system', 'flox-prewarm')).toEqual({ environments: 'acme/a\n' });
    expect(await client().readConfigMap('flox-system', 'other')).toBeUndefined();
  });

  it('lists then watches the node\'s pods, and picks up again after the stream ends', async () => {
    apiserver.putPod({ metadata: { name: 'early', namespace: 'a' }, spec: { nodeName: 'node-a' } });
    const events: PodWatchEvent[] = [];
    const watch = await client().watchPods('node-a', (e) => events.push(e), () => undefined);
    try {
      expect(events.map((e) => [e.type, e.pod.name])).toEqual([['added', 'early']]);
      apiserver.putPod({ metadata: { name: 'late', namespace: 'a' }, spec: { nodeName: 'node-a', runtimeClassName: 'flox' } });
      apiserver.putPod({ metadata: { name: 'other', namespace: 'a' }, spec: { nodeName: 'node-b' } });
      for (let i = 0; i < 200 && events.length < 2; i++) await new Promise((r) => setTimeout(r, 10));
      expect(events[1]).toMatchObject({ type: 'added', pod: { name: 'late', namespace: 'a', nodeName: 'node-a', runtimeClassName: 'flox' } });
      apiserver.deletePod('a', 'early');
      for (let i = 0; i < 200 && events.length < 3; i++) await new Promise((r) => setTimeout(r, 10));
      expect(events[2]).toMatchObject({ type: 'deleted', pod: { name: 'early' } });
      expect(events.some((e) => e.pod.name === 'other')).toBe(false);

      apiserver.dropWatches();
      for (let i = 0; i < 500 && apiserver.watcherCount === 0; i++) await new Promise((r) => setTimeout(r, 10));
      expect(apiserver.watcherCount).toBe(1);
      apiserver.putPod({ metadata: { name: 'after-reconnect', namespace: 'a' }, spec: { nodeName: 'node-a' } });
      for (let i = 0; i < 200 && events.length < 4; i++) await new Promise((r) => setTimeout(r, 10));
      expect(events.map((e) => e.pod.name)).toEqual(['early', 'late', 'early', 'after-reconnect']);
    } finally {
      await watch.stop();
    }
  });

  it('posts core/v1 events on the pod', async () => {
    await client().createPodEvent({
      pod: { namespace: 'apps', name: 'echo', uid: 'u-1' },
      type: 'Normal',
      reason: 'FloxRealised',
      message: 'Realised acme/echoserver:12: 120 paths, 310 MB fetched in 4.2 s',
    });
    expect(apiserver.events[0]).toMatchObject({
      metadata: { namespace: 'apps' },
      involvedObject: { kind: 'Pod', name: 'echo', namespace: 'apps', uid: 'u-1' },
      reason: 'FloxRealised',
      type: 'Normal',
      message: 'Realised acme/echoserver:12: 120 paths, 310 MB fetched in 4.2 s',
    });
    expect(apiserver.requests.at(-1)).toMatchObject({ method: 'POST', path: '/api/v1/namespaces/apps/events' });
  });

  it('lists a namespace\'s pods by label selector, with their IPs and ports', async () => {
    apiserver.putPod({
      metadata: { name: 'agent-a', namespace: 'flox-system', labels: { 'app.kubernetes.io/name': 'flox-node-agent' } },
      spec: { nodeName: 'node-a', containers: [{ name: 'agent', ports: [{ name: 'metrics', containerPort: 9464 }] }] },
      status: { phase: 'Running', podIP: '10.0.0.7' },
    });
    apiserver.putPod({ metadata: { name: 'other', namespace: 'flox-system', labels: { app: 'x' } }, spec: { nodeName: 'node-a' } });
    const pods = await client().listPods('flox-system', { labelSelector: 'app.kubernetes.io/name=flox-node-agent' });
    expect(pods).toEqual([
      {
        namespace: 'flox-system',
        name: 'agent-a',
        uid: expect.any(String),
        nodeName: 'node-a',
        runtimeClassName: undefined,
        annotations: {},
        labels: { 'app.kubernetes.io/name': 'flox-node-agent' },
        phase: 'Running',
        podIP: '10.0.0.7',
        ports: [{ name: 'metrics', containerPort: 9464, protocol: 'TCP' }],
      },
    ]);
    await expect(client().listPods('flox-system', { fieldSelector: 'spec.bogus=1' })).rejects.toMatchObject({ code: 'FLOXK8S_KUBE_API', status: 400 });
  });
});

describe('kubeClient.proxyGet', () => {
  let pod: Server;
  let port: number;
  beforeEach(async () => {
    pod = createServer((req, res) => {
      if (req.url === '/hang') return;
      if (req.url === '/big') return void res.writeHead(200).end(Buffer.alloc(4096, 120));
      res.writeHead(req.url === '/teapot' ? 418 : 200, { 'content-type': 'application/json' }).end(JSON.stringify({ url: req.url }));
    });
    await new Promise<void>((r) => pod.listen(0, '127.0.0.1', r));
    port = (pod.address() as AddressInfo).port;
    apiserver.putPod({ metadata: { name: 'agent-a', namespace: 'flox-system' }, spec: { containers: [] }, status: { podIP: '127.0.0.1' } });
  });
  afterEach(async () => {
    pod.closeAllConnections();
    await new Promise((r) => pod.close(r));
  });

  it('GETs through pods/<name>:<port>/proxy and returns any status with the body', async () => {
    const ok = await client().proxyGet({ namespace: 'flox-system', pod: 'agent-a', port, path: '/environments?format=json' });
    expect(ok).toMatchObject({ status: 200, contentType: 'application/json' });
    expect(JSON.parse(Buffer.from(ok.body).toString())).toEqual({ url: '/environments?format=json' });
    expect(apiserver.requests.at(-1)).toMatchObject({ method: 'GET', path: `/api/v1/namespaces/flox-system/pods/agent-a:${port}/proxy/environments?format=json` });
    expect((await client().proxyGet({ namespace: 'flox-system', pod: 'agent-a', port, path: '/teapot' })).status).toBe(418);
    expect((await client().proxyGet({ namespace: 'flox-system', pod: 'gone', port, path: '/x' })).status).toBe(404);
  });

  it('bounds the time and the size of an answer', async () => {
    const started = Date.now();
    await expect(client().proxyGet({ namespace: 'flox-system', pod: 'agent-a', port, path: '/hang', timeoutMs: 200 })).rejects.toMatchObject({ code: 'FLOXK8S_KUBE_TIMEOUT' });
    expect(Date.now() - started).toBeLessThan(5_000);
    await expect(client().proxyGet({ namespace: 'flox-system', pod: 'agent-a', port, path: '/big', maxBytes: 1000 })).rejects.toMatchObject({ code: 'FLOXK8S_KUBE_RESPONSE_TOO_LARGE' });
  });

  it.each([
    [{ namespace: 'Flox', pod: 'a', port: 1, path: '/' }],
    [{ namespace: 'flox', pod: 'a/b', port: 1, path: '/' }],
    [{ namespace: 'flox', pod: 'a', port: 0, path: '/' }],
    [{ namespace: 'flox', pod: 'a', port: 1, path: 'environments' }],
    [{ namespace: 'flox', pod: 'a', port: 1, path: '/../../api/v1/secrets' }],
  ])('refuses %j before sending anything', async (request) => {
    const before = apiserver.requests.length;
    await expect(client().proxyGet(request)).rejects.toMatchObject({ code: 'FLOXK8S_KUBE_REQUEST_INVALID' });
    expect(apiserver.requests.length).toBe(before);
  });
});
