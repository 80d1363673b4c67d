import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { kubeClient, type PodSummary } from '@flox-k8s/kube';
import { startFakeApiserver, type FakeApiserver } from '@flox-k8s/fake-apiserver';
import { memoryLogger } from '../log.ts';
import { createMetrics } from '../metrics/metrics.ts';
import { RealiseCoordinator } from '../realise/coordinator.ts';
import { scriptedRealiser } from '../realise/test-scripted-realiser.ts';
import { Prefetcher, type ResolvedEnvironmentJob } from './prefetcher.ts';
import { parsePrewarmList } from './prewarm.ts';

const pathFor = (ref: string): string => `/nix/store/${'0123456789abcdfghijklmnpqrsvwxyz'.slice(0, 32)}-${ref.replace(/[^A-Za-z0-9]/g, '-')}`;

let apiserver: FakeApiserver;
let realiser: ReturnType<typeof scriptedRealiser>;
let prefetcher: Prefetcher;
let after: Array<{ env: string; owner: string }>;
let gone: string[];

const until = async (what: string, cond: () => boolean): Promise<void> => {
  for (let i = 0; i < 500 && !cond(); i++) await new Promise((r) => setTimeout(r, 10));
  if (!cond()) throw new Error(`timed out waiting for ${what}`);
};

beforeEach(async () => {
  apiserver = await startFakeApiserver();
  apiserver.addNode('node-a');
  realiser = scriptedRealiser();
  after = [];
  gone = [];
  prefetcher = new Prefetcher({
    kube: kubeClient({ kubeconfig: { server: apiserver.url }, component: 'flox-node-agent', host: 'node-a' }),
    nodeName: 'node-a',
    runtimeClassName: 'flox',
    coordinator: new RealiseCoordinator(realiser),
    // Environment sources are exercised in agent.test.ts; here a reference names its one store path.
    resolve: async (reference): Promise<ResolvedEnvironmentJob> => ({ storePaths: [pathFor(reference.split(':')[0] ?? reference)], environment: reference, digest: 'b'.repeat(64) }),
    afterRealise: async (job, _outcome, owner) => {
      after.push({ env: job.environment, owner: owner.kind === 'pod' ? owner.pod.name : 'prewarm' });
    },
    podGone: async (pod: PodSummary) => {
      gone.push(pod.name);
    },
    metrics: createMetrics(),
    log: memoryLogger(),
  });
  await prefetcher.start();
});
afterEach(async () => {
  realiser.release();
  await prefetcher.stop();
  await apiserver.close();
});

const floxPod = (name: string, env: string, node = 'node-a') => ({
  metadata: { name, namespace: 'apps', annotations: { 'flox.dev/environment': env } },
  spec: { nodeName: node, runtimeClassName: 'flox' },
});

describe('Prefetcher', () => {
  it('shares one realise between pods of the same environment and posts an event on each', async () => {
    apiserver.putPod(floxPod('a', 'acme/echo'));
    apiserver.putPod(floxPod('b', 'acme/echo'));
    await until('two pods waiting', () => realiser.calls.length === 1);
    await new Promise((r) => setTimeout(r, 50));
    realiser.release();
    await until('two events', () => apiserver.events.length === 2);
    expect(realiser.calls).toHaveLength(1);
    expect(apiserver.events.map((e) => (e['involvedObject'] as { name: string }).name).sort()).toEqual(['a', 'b']);
    expect(after.map((a) => a.owner).sort()).toEqual(['a', 'b']);
  });

  it('ignores pods of other nodes, other runtime classes and finished pods; re-realises when the annotation changes', async () => {
    apiserver.putPod(floxPod('elsewhere', 'acme/x', 'node-b'));
    apiserver.putPod({ ...floxPod('runc', 'acme/x'), spec: { nodeName: 'node-a' } });
    apiserver.putPod({ ...floxPod('done', 'acme/x'), status: { phase: 'Succeeded' } });
    apiserver.putPod(floxPod('app', 'acme/one'));
    await until('the app realise', () => realiser.calls.length === 1);
    realiser.release();
    await until('its event', () => apiserver.events.length === 1);
    // A status-only update of the same pod does not realise again…
    apiserver.putPod({ ...floxPod('app', 'acme/one'), status: { phase: 'Running' } });
    await new Promise((r) => setTimeout(r, 100));
    expect(realiser.calls).toHaveLength(1);
    // …a new environment does.
    apiserver.putPod(floxPod('app', 'acme/two'));
    await until('the second realise', () => realiser.calls.length === 2);
    expect(realiser.calls.map((c) => c.environment)).toEqual(['acme/one', 'acme/two']);
  });

  it('releases the pod lease when the pod is deleted', async () => {
    apiserver.putPod(floxPod('short', 'acme/echo'));
    await until('realise', () => realiser.calls.length === 1);
    realiser.release();
    await until('event', () => apiserver.events.length === 1);
    apiserver.deletePod('apps', 'short');
    await until('release', () => gone.length === 1);
    expect(gone).toEqual(['short']);
  });

  it('pre-warms the ConfigMap list without events', async () => {
    const warming = prefetcher.prewarm(parsePrewarmList('# comment\nacme/a\n\n acme/b # trailing\nacme/a\n'));
    await until('two realises', () => realiser.calls.length === 2);
    realiser.release();
    await warming;
    expect(after).toEqual([{ env: 'acme/a', owner: 'prewarm' }, { env: 'acme/b', owner: 'prewarm' }]);
    expect(apiserver.events).toEqual([]);
  });
});
