// GET /environments and GET /environments/<digest>/sbom on a real agent: real Nix-built
// closures realised from a loopback binary cache into a real store, pods seen through the
// fake API server; answers come from the store's records, with no cache request.
import { mkdtemp, rename, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { nodeEnvironmentsSchema, type NodeEnvironments } from '@flox-k8s/agent-protocol';
import { publishEnvironment } from '@flox-k8s/environments';
import { startFakeApiserver, type FakeApiserver } from '@flox-k8s/fake-apiserver';
import { kubeClient } from '@flox-k8s/kube';
import { parseLockfile, storePathsToInstall } from '@flox-k8s/lockfile';
import { BinaryCacheClient, parseSha256 } from '@flox-k8s/nar';
import { nixFixtures, serveCache, type NixFixtures, type ServedCache } from '@flox-k8s/nix-fixtures';
import { closureFromCache } from '@flox-k8s/sbom';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startAgent, type RunningAgent } from '../agent.ts';
import { parseAgentConfig, type AgentConfig } from '../config.ts';
import { memoryLogger } from '../log.ts';
import { helloOnlyLockfile, until } from '@flox-k8s/fleet-harness';

let fixtures: NixFixtures;
let cache: ServedCache;
let apiserver: FakeApiserver;
let dir: string;
let config: AgentConfig;
let agent: RunningAgent | undefined;
let full: { generation: number; digest: string };
let hello: { generation: number; digest: string };

const floxPod = (name: string, reference: string) => ({ metadata: { name, namespace: 'apps', uid: `uid-${name}`, annotations: { 'flox.dev/environment': reference } }, spec: { nodeName: 'node-a', runtimeClassName: 'flox' } });
const get = (path: string, init?: RequestInit) => fetch(`${agent!.observability.url}${path}`, init);
const listing = async (): Promise<NodeEnvironments> => nodeEnvironmentsSchema.parse(await (await get('/environments')).json());
const start = async (): Promise<RunningAgent> =>
  startAgent({ config, nodeName: 'node-a', kube: kubeClient({ kubeconfig: { server: apiserver.url }, component: 'flox-node-agent', host: 'node-a' }), log: memoryLogger() });

beforeAll(async () => {
  fixtures = await nixFixtures();
  cache = await serveCache(fixtures.caches.zstd);
  apiserver = await startFakeApiserver();
  apiserver.addNode('node-a');
  dir = await mkdtemp(join(tmpdir(), 'flox-agent-envs-'));
  full = await publishEnvironment(join(dir, 'envs'), 'acme', 'fixture', fixtures.lockfile.bytes);
  hello = await publishEnvironment(join(dir, 'envs'), 'acme', 'hello', helloOnlyLockfile(fixtures.lockfile.bytes));
  config = parseAgentConfig({
    storeRoot: join(dir, 'store'),
    caches: [{ url: cache.url }],
    trustedKeys: [fixtures.publicKey],
    sources: [{ type: 'dir', path: join(dir, 'envs') }],
    agentSocket: join(dir, 'run', 'agent.sock'),
    patchServiceDir: join(dir, 'run', 'patcher'),
    system: 'x86_64-linux',
    agent: { metricsHost: '127.0.0.1', metricsPort: 0, installer: { enabled: false } },
  });
  agent = await start();
  apiserver.putPod(floxPod('web', `acme/fixture:${full.generation}`));
  apiserver.putPod(floxPod('worker', `acme/fixture@sha256:${full.digest}`));
  apiserver.putPod(floxPod('greeter', 'acme/hello'));
  await until('three realised events', () => apiserver.events.filter((e) => e['reason'] === 'FloxRealised').length === 3);
}, 300_000);

afterAll(async () => {
  await agent?.stop();
  await apiserver?.close();
  await cache?.close();
  if (dir) await rm(dir, { recursive: true, force: true });
});

describe('GET /environments', () => {
  it('lists each realised environment with its references, closure (named as the SBOM names it) and pods, without asking the cache', async () => {
    const before = cache.requests.length;
    const body = await listing();
    expect(cache.requests.length).toBe(before);
    expect(body).toMatchObject({ apiVersion: 'flox.dev/v1alpha1', kind: 'NodeEnvironments', node: 'node-a', system: 'x86_64-linux' });
    const byDigest = new Map(body.environments.map((e) => [e.digest, e]));
    expect([...byDigest.keys()].sort()).toEqual([full.digest, hello.digest].sort());

    const fixture = byDigest.get(full.digest)!;
    expect(fixture.references).toEqual([`acme/fixture:${full.generation}`, `acme/fixture@sha256:${full.digest}`].sort());
    expect(fixture.generation).toBe(full.generation);
    expect(fixture.storePaths).toEqual(storePathsToInstall(parseLockfile(fixtures.lockfile.bytes), 'x86_64-linux'));
    expect(fixture.closure.map((c) => c.storePath)).toEqual([...fixtures.closure].sort());
    expect(fixture.closure.find((c) => c.storePath === fixtures.storePaths.script)).toEqual({ storePath: fixtures.storePaths.script, name: 'hello-flox', version: '1.0' });
    expect(fixture.pods).toEqual([
      { namespace: 'apps', name: 'web', uid: 'uid-web', reference: `acme/fixture:${full.generation}` },
      { namespace: 'apps', name: 'worker', uid: 'uid-worker', reference: `acme/fixture@sha256:${full.digest}` },
    ]);

    const greeter = byDigest.get(hello.digest)!;
    expect(greeter.references).toEqual(['acme/hello']);
    expect(greeter.storePaths).toEqual([fixtures.storePaths.script]);
    expect(greeter.closure.map((c) => c.storePath)).toEqual([fixtures.storePaths.busybox, fixtures.storePaths.data, fixtures.storePaths.script].sort());
    expect(greeter.pods.map((p) => p.name)).toEqual(['greeter']);
  });

  it('drops a deleted pod from the listing', async () => {
    apiserver.putPod(floxPod('short', 'acme/hello'));
    const listed = async (): Promise<string[]> => (await listing()).environments.find((e) => e.digest === hello.digest)!.pods.map((p) => p.name);
    for (let i = 0; i < 500 && !(await listed()).includes('short'); i++) await new Promise((r) => setTimeout(r, 20));
    expect(await listed()).toEqual(['greeter', 'short']);
    apiserver.deletePod('apps', 'short');
    for (let i = 0; i < 500 && (await listed()).includes('short'); i++) await new Promise((r) => setTimeout(r, 20));
    expect(await listed()).toEqual(['greeter']);
  });
});

describe('GET /environments/<digest>/sbom', () => {
  it('serves CycloneDX and SPDX from the store records: every closure path with the NarHash the cache signed', async () => {
    const client = new BinaryCacheClient({ caches: [{ url: cache.url }], trustedKeys: [fixtures.publicKey] });
    const narinfos = await closureFromCache(client, parseLockfile(fixtures.lockfile.bytes), 'x86_64-linux');
    await client.close();
    const before = cache.requests.length;
    const cdx = await get(`/environments/${full.digest}/sbom?format=cyclonedx`);
    expect(cdx.status).toBe(200);
    expect(cdx.headers.get('content-type')).toBe('application/vnd.cyclonedx+json; version=1.6');
    const bom = (await cdx.json()) as { metadata: { component: { name: string; group: string; version: string } }; components: Array<{ 'bom-ref': string; hashes: Array<{ content: string }> }> };
    expect(bom.metadata.component).toMatchObject({ group: 'acme', name: 'fixture', version: String(full.generation) });
    expect(bom.components.map((c) => c['bom-ref']).sort()).toEqual([...fixtures.closure].sort());
    for (const info of narinfos) {
      const component = bom.components.find((c) => c['bom-ref'] === info.storePath)!;
      expect(component.hashes[0]!.content).toBe(Buffer.from(parseSha256(info.narHash)).toString('hex'));
    }
    const spdx = await get(`/environments/${hello.digest}/sbom?format=spdx`);
    expect(spdx.headers.get('content-type')).toBe('application/spdx+json');
    const doc = (await spdx.json()) as { spdxVersion: string; packages: Array<{ packageFileName?: string }> };
    expect(doc.spdxVersion).toBe('SPDX-2.3');
    expect(doc.packages.map((p) => p.packageFileName).filter(Boolean).sort()).toEqual([fixtures.storePaths.busybox, fixtures.storePaths.data, fixtures.storePaths.script].sort());
    expect(cache.requests.length).toBe(before);
    // Two answers are byte-identical.
    const again = await get(`/environments/${full.digest}/sbom?format=cyclonedx`);
    const first = await get(`/environments/${full.digest}/sbom`);
    expect(await again.text()).toBe(await first.text());
  });

  it.each([
    ['a bad digest', `/environments/${'A'.repeat(64)}/sbom`, 400, 'FLOXK8S_AGENT_HTTP_BAD_REQUEST'],
    ['a short digest', '/environments/abc/sbom?format=spdx', 400, 'FLOXK8S_AGENT_HTTP_BAD_REQUEST'],
    ['an escaped digest', `/environments/%61${'0'.repeat(61)}/sbom`, 400, 'FLOXK8S_AGENT_HTTP_BAD_REQUEST'],
    ['a bad format', '/environments/DIGEST/sbom?format=swid', 400, 'FLOXK8S_AGENT_HTTP_BAD_REQUEST'],
    ['an unknown digest', `/environments/${'0'.repeat(64)}/sbom`, 404, 'FLOXK8S_AGENT_ENVIRONMENT_UNKNOWN'],
    ['another path', '/environments/DIGEST', 404, 'FLOXK8S_AGENT_ENVIRONMENT_UNKNOWN'],
  ])('answers %s (%s) with %i and a coded JSON error', async (_what, path, status, code) => {
    const res = await get(path.replace('DIGEST', full.digest));
    expect(res.status).toBe(status);
    expect(res.headers.get('content-type')).toBe('application/json');
    expect(await res.json()).toEqual({ error: { code, message: expect.any(String) } });
  });

  it('refuses other methods', async () => {
    expect((await get('/environments', { method: 'POST' })).status).toBe(405);
  });
});

describe('after a restart', () => {
  it('still knows the environments and their pods, from its state directory alone', async () => {
    await agent!.stop();
    // Without its sources the new agent cannot resolve anything again: what it lists, it remembered.
    await rename(join(dir, 'envs'), join(dir, 'envs-gone'));
    agent = await start();
    const body = await listing();
    expect(body.environments.map((e) => e.digest).sort()).toEqual([full.digest, hello.digest].sort());
    expect(body.environments.find((e) => e.digest === hello.digest)!.pods.map((p) => p.name)).toEqual(['greeter']);
  });
});
