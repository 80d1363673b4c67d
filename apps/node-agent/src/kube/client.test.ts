import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { kubeClient } from './client.ts';
import { startFakeApiserver, type FakeApiserver } from './fake-apiserver.ts';
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
    await expect(client().patchNodeLabels('missing', { a: 'b' })).rejects.toMatchObject({ code: 'FLOXK8S_AGENT_KUBE_API', status: 404 });
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
      pod: { namespace: 'apps', name: 'echo', uid: 'u-1', nodeName: 'node-a', runtimeClassName: 'flox', annotations: {}, phase: undefined },
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
});
