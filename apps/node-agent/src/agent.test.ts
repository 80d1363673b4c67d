import { execFileSync } from 'node:child_process';
import { closeSync, constants, mkdirSync, openSync, readdirSync, readFileSync, statSync, writeFileSync, writeSync } from 'node:fs';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { nixFixtures, serveCache, type NixFixtures, type ServedCache } from '@flox-k8s/nix-fixtures';
import { realiseViaAgent } from '@flox-k8s/agent-protocol';
import { publishEnvironment } from '@flox-k8s/environments';
import { storePathsToInstall, parseLockfile } from '@flox-k8s/lockfile';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ENABLED_LABEL, startAgent, type RunningAgent } from './agent.ts';
import { parseAgentConfig } from './config.ts';
import { kubeClient } from '@flox-k8s/kube';
import { startFakeApiserver, type FakeApiserver } from '@flox-k8s/fake-apiserver';
import { memoryLogger } from './log.ts';

let fixtures: NixFixtures;
let cache: ServedCache;
let apiserver: FakeApiserver;
let dir: string;
let agent: RunningAgent;
let published: { generation: number; digest: string };
const log = memoryLogger();

async function until<T>(what: string, fn: () => T | undefined | false, ms = 20_000): Promise<T> {
  const deadline = Date.now() + ms;
  for (;;) {
    const value = fn();
    if (value !== undefined && value !== false) return value;
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 20));
  }
}

beforeAll(async () => {
  fixtures = await nixFixtures();
  cache = await serveCache(fixtures.caches.zstd);
  apiserver = await startFakeApiserver();
  apiserver.addNode('node-a', { 'kubernetes.io/hostname': 'node-a' });
  dir = await mkdtemp(join(tmpdir(), 'flox-agent-'));
  // storeSync: syncfs below: the store's `sync -f` runs through this logging one, first on PATH.
  mkdirSync(join(dir, 'bin'));
  writeFileSync(join(dir, 'bin', 'sync'), `#!/bin/sh\necho "$*" >> ${join(dir, 'sync.log')}\nexec ${execFileSync('sh', ['-c', 'command -v sync'], { encoding: 'utf8' }).trim()} "$@"\n`, { mode: 0o755 });
  process.env['PATH'] = `${join(dir, 'bin')}:${process.env['PATH'] ?? ''}`;
  published = await publishEnvironment(join(dir, 'envs'), 'acme', 'echoserver', fixtures.lockfile.bytes);
  apiserver.setConfigMap('flox-system', 'flox-prewarm', { environments: '# nothing to pre-warm in this test\n' });
  const config = parseAgentConfig({
    storeRoot: join(dir, 'store'),
    caches: [{ url: cache.url }],
    trustedKeys: [fixtures.publicKey],
    sources: [{ type: 'dir', path: join(dir, 'envs') }],
    agentSocket: join(dir, 'run', 'agent.sock'),
    patchServiceDir: join(dir, 'run', 'patcher'),
    system: 'x86_64-linux',
    storeSync: 'syncfs',
    agent: { metricsHost: '127.0.0.1', metricsPort: 0, prewarm: { namespace: 'flox-system', name: 'flox-prewarm' }, installer: { enabled: false }, hostProcRoot: '' },
  });
  const kube = kubeClient({ kubeconfig: { server: apiserver.url }, component: 'flox-node-agent', host: 'node-a' });
  // The writable /nix/store of a nix-mutable container whose bundle containerd has removed, and of a live one.
  for (const [id, bundle] of [['gone', join(dir, 'no-such-bundle')], ['live', dir]] as const) {
    mkdirSync(join(dir, 'store', 'mutable', id, 'store', 'upper'), { recursive: true });
    writeFileSync(join(dir, 'store', 'mutable', id, 'bundle'), bundle);
  }
  agent = await startAgent({ config, nodeName: 'node-a', kube, log });
}, 300_000);

const pathBefore = process.env['PATH'];
afterAll(async () => {
  process.env['PATH'] = pathBefore;
  await agent?.stop();
  await apiserver?.close();
  await cache?.close();
  if (dir) await rm(dir, { recursive: true, force: true });
});

describe('node agent against the fake apiserver', () => {
  it('removes the nix-mutable scratch of containers whose bundle is gone, at start', () => {
    expect(readdirSync(join(dir, 'store', 'mutable'))).toEqual(['live']);
    expect(log.records.find((r) => r['msg'] === 'removed the writable /nix/store of deleted nix-mutable containers')).toMatchObject({ removed: 1 });
  });

  it('labels the node once it is up', () => {
    expect(apiserver.node('node-a')?.metadata['labels']).toEqual({ 'kubernetes.io/hostname': 'node-a', [ENABLED_LABEL]: 'true' });
    const patch = apiserver.requests.find((r) => r.method === 'PATCH');
    expect(patch).toMatchObject({ path: '/api/v1/nodes/node-a', contentType: 'application/merge-patch+json' });
    // the watch asked only for this node's pods
    expect(apiserver.requests.some((r) => r.path.includes('watch=true') && r.path.includes('fieldSelector=spec.nodeName%3Dnode-a'))).toBe(true);
  });

  it('realises the environment of a flox pod bound to the node and posts an event; ignores others', async () => {
    const before = cache.count(/\.nar/);
    apiserver.putPod({ metadata: { name: 'other', namespace: 'apps', annotations: { 'flox.dev/environment': 'acme/echoserver' } }, spec: { nodeName: 'node-b', runtimeClassName: 'flox' } });
    apiserver.putPod({ metadata: { name: 'plain', namespace: 'apps', annotations: { 'flox.dev/environment': 'acme/echoserver' } }, spec: { nodeName: 'node-a' } });
    apiserver.putPod({ metadata: { name: 'echo', namespace: 'apps', annotations: { 'flox.dev/environment': `acme/echoserver:${published.generation}` } }, spec: { nodeName: 'node-a', runtimeClassName: 'flox' } });
    const event = await until('the Realised event', () => apiserver.events.find((e) => e['reason'] === 'FloxRealised'));
    expect(event).toMatchObject({ type: 'Normal', involvedObject: { kind: 'Pod', name: 'echo', namespace: 'apps' }, source: { component: 'flox-node-agent', host: 'node-a' } });
    const closure = fixtures.closure;
    expect(event['message']).toMatch(new RegExp(`^Realised acme/echoserver:${published.generation}: ${closure.length} paths, [0-9.]+ MB fetched in [0-9.]+ s$`));
    // The realise's start (FloxRealising: what it fetches), then the finish; nothing about the other pods.
    expect(apiserver.events.map((e) => String(e['reason'])).sort()).toEqual(['FloxRealised', 'FloxRealising']);
    expect(apiserver.events.find((e) => e['reason'] === 'FloxRealising')?.['message']).toMatch(new RegExp(`^Realising acme/echoserver:${published.generation}: ${closure.length} paths, [0-9.]+ MB to fetch$`));
    expect(cache.count(/\.nar/) - before).toBeGreaterThan(0);
    for (const path of closure) expect(agent.store.pathInfo(path), path).toBeDefined();
    // The config's storeSync reached the agent's store: one flush before the renames, one after.
    expect(readFileSync(join(dir, 'sync.log'), 'utf8').split('\n').filter((l) => l !== '')).toEqual([`-f ${join(dir, 'store', 'store')}`, `-f ${join(dir, 'store', 'store')}`]);
  });

  it('answers the shim from the prefetched store without touching the cache', async () => {
    const lock = parseLockfile(fixtures.lockfile.bytes);
    const requestsBefore = cache.requests.length;
    const done = await realiseViaAgent(join(dir, 'run', 'agent.sock'), { storePaths: storePathsToInstall(lock, 'x86_64-linux'), environment: 'acme/echoserver', digest: published.digest });
    expect(done.fetched).toEqual([]);
    expect(done.closure).toEqual([...fixtures.closure].sort());
    expect(done.storeRoot).toBe(join(dir, 'store'));
    expect(cache.requests.length).toBe(requestsBefore);
  });

  it('posts a Warning event with the error code when the environment does not resolve', async () => {
    apiserver.putPod({ metadata: { name: 'missing', namespace: 'apps', annotations: { 'flox.dev/environment': 'acme/nope:3' } }, spec: { nodeName: 'node-a', runtimeClassName: 'flox' } });
    const event = await until('the failure event', () => apiserver.events.find((e) => e['reason'] === 'FloxRealiseFailed'));
    expect(event).toMatchObject({ type: 'Warning', involvedObject: { name: 'missing' } });
    expect(event['message']).toMatch(/^Realise of acme\/nope:3 failed \(FLOXK8S_ENV_NOT_FOUND\): /);
  });

  it('serves the runc front on its patch service FIFO (root-only directory), counting requests by outcome', async () => {
    const patcher = join(dir, 'run', 'patcher');
    expect(statSync(join(patcher, 'requests')).isFIFO()).toBe(true);
    expect(statSync(patcher).mode & 0o777).toBe(0o700);
    // pid 1 exists but made no reply FIFO: dropped, and the service keeps serving.
    const fd = openSync(join(patcher, 'requests'), constants.O_RDWR | constants.O_NONBLOCK);
    writeSync(fd, 'create 1\nnonsense\n');
    closeSync(fd);
    const metric = async (): Promise<string> => (await fetch(`${agent.observability.url}/metrics`)).text();
    const deadline = Date.now() + 5000;
    let text = await metric();
    while (!/flox_agent_patch_requests_total\{subcommand="none",outcome="dropped"\} 1/.test(text) && Date.now() < deadline) {
      await new Promise((r) => setTimeout(r, 20));
      text = await metric();
    }
    expect(text).toMatch(/flox_agent_patch_requests_total\{subcommand="create",outcome="dropped"\} 1/);
    expect(text).toMatch(/flox_agent_patch_requests_total\{subcommand="none",outcome="dropped"\} 1/);
    expect(await (await fetch(`${agent.observability.url}/readyz`)).text()).toContain('[+]patcher ok');
  });

  it('exports metrics and health', async () => {
    const text = await (await fetch(`${agent.observability.url}/metrics`)).text();
    expect(text).toMatch(/flox_agent_realise_phase_seconds_count\{phase="fetch"\} [1-9]/);
    expect(text).toMatch(/flox_agent_realise_phase_seconds_count\{phase="profile"\} [1-9]/);
    expect(text).toMatch(new RegExp(`flox_agent_fetched_bytes_total\\{cache="${cache.url.replace(/[.:/]/g, '\\$&')}"\\} [1-9]`));
    expect(text).toMatch(/flox_agent_store_paths_total\{result="fetched"\} [1-9]/);
    expect(text).toMatch(/flox_agent_store_paths_total\{result="hit"\} [1-9]/);
    expect(text).toMatch(/flox_agent_errors_total\{code="FLOXK8S_ENV_NOT_FOUND"\} 1/);
    expect(text).toMatch(/flox_agent_store_bytes [1-9]/);
    expect((await fetch(`${agent.observability.url}/healthz`)).status).toBe(200);
    const ready = await fetch(`${agent.observability.url}/readyz`);
    expect(ready.status).toBe(200);
    expect(await ready.text()).toContain('[+]watch ok');
  });

  it('writes JSON log lines', () => {
    expect(log.records.some((r) => r['msg'] === 'realised' && r['pod'] === 'apps/echo')).toBe(true);
  });
});
