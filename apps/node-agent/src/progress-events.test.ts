// Progress where operators look, against the fake apiserver and a real store fed by a throttled
// loopback cache: FloxRealising Events (start, then at most one per interval), the bytes-outstanding
// gauge while NARs stream, and the `realise progress` log lines.
import { createReadStream } from 'node:fs';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { nixFixtures, serveCache, type NixFixtures, type ServedCache } from '@flox-k8s/nix-fixtures';
import { publishEnvironment } from '@flox-k8s/environments';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startAgent, type RunningAgent } from './agent.ts';
import { parseAgentConfig } from './config.ts';
import { kubeClient } from '@flox-k8s/kube';
import { startFakeApiserver, type FakeApiserver } from '@flox-k8s/fake-apiserver';
import { memoryLogger } from './log.ts';

const INTERVAL_MS = 300;
// xz NARs stream (the store reports every MiB in or out) and trickle out at about 250 KB/s, so
// the small fixture takes a few seconds to fetch.
const CHUNK = 16 * 1024;
const CHUNK_DELAY_MS = 60;

let fixtures: NixFixtures;
let cache: ServedCache;
let apiserver: FakeApiserver;
let dir: string;
let agent: RunningAgent;
let generation: number;
const log = memoryLogger();

async function until<T>(what: string, fn: () => T | undefined | false, ms = 60_000): Promise<T> {
  const deadline = Date.now() + ms;
  for (;;) {
    const value = fn();
    if (value !== undefined && value !== false) return value;
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 10));
  }
}

const gauge = async (): Promise<number> => {
  const text = await (await fetch(`${agent.observability.url}/metrics`)).text();
  return Number(/^flox_agent_realise_bytes_outstanding (\S+)$/m.exec(text)?.[1]);
};

beforeAll(async () => {
  fixtures = await nixFixtures();
  cache = await serveCache(fixtures.caches.xz, {
    onRequest: (req, res) => {
      if (!req.url?.startsWith('/nar/')) return false;
      res.writeHead(200, { 'content-type': 'application/x-nix-nar' });
      const stream = createReadStream(join(fixtures.caches.xz, req.url), { highWaterMark: CHUNK });
      stream.on('data', (chunk) => {
        stream.pause();
        res.write(chunk);
        setTimeout(() => stream.resume(), CHUNK_DELAY_MS);
      });
      stream.on('end', () => res.end());
      return true;
    },
  });
  apiserver = await startFakeApiserver();
  apiserver.addNode('node-p');
  dir = await mkdtemp(join(tmpdir(), 'flox-agent-progress-'));
  ({ generation } = await publishEnvironment(join(dir, 'envs'), 'acme', 'slow', fixtures.lockfile.bytes));
  const config = parseAgentConfig({
    storeRoot: join(dir, 'store'),
    caches: [{ url: cache.url }],
    trustedKeys: [fixtures.publicKey],
    sources: [{ type: 'dir', path: join(dir, 'envs') }],
    agentSocket: join(dir, 'run', 'agent.sock'),
    patchServiceDir: join(dir, 'run', 'patcher'),
    system: 'x86_64-linux',
    agent: { metricsHost: '127.0.0.1', metricsPort: 0, progressIntervalSeconds: INTERVAL_MS / 1000, installer: { enabled: false } },
  });
  agent = await startAgent({ config, nodeName: 'node-p', kube: kubeClient({ kubeconfig: { server: apiserver.url }, component: 'flox-node-agent', host: 'node-p' }), log });
}, 300_000);

afterAll(async () => {
  await agent?.stop();
  await apiserver?.close();
  await cache?.close();
  if (dir) await rm(dir, { recursive: true, force: true });
});

describe('progress of a long prefetch', () => {
  it('posts FloxRealising events (start, then at most one per interval), a gauge of bytes outstanding and log lines', async () => {
    const reference = `acme/slow:${generation}`;
    expect(await gauge()).toBe(0);
    apiserver.putPod({ metadata: { name: 'slow', namespace: 'apps', annotations: { 'flox.dev/environment': reference } }, spec: { nodeName: 'node-p', runtimeClassName: 'flox' } });
    const realising = () => apiserver.events.filter((e) => e['reason'] === 'FloxRealising' && (e['involvedObject'] as { name: string }).name === 'slow');
    await until('the first FloxRealising event', () => realising().length > 0);
    // Mid-fetch: the gauge counts what is still to come.
    const outstanding = await gauge();
    expect(outstanding).toBeGreaterThan(0);
    await until('the Realised event', () => apiserver.events.find((e) => e['reason'] === 'FloxRealised' && (e['involvedObject'] as { name: string }).name === 'slow'));
    expect(await gauge()).toBe(0);

    const events = realising();
    const paths = fixtures.closure.length;
    expect(events[0]?.['message']).toMatch(new RegExp(`^Realising ${reference}: ${paths} paths, [0-9.]+ MB to fetch$`));
    const progress = events.slice(1).map((e) => String(e['message']));
    expect(progress.length, JSON.stringify(events.map((e) => [e["firstTimestamp"], e["message"]]))).toBeGreaterThanOrEqual(2);
    const parsed = progress.map((m) => {
      const match = new RegExp(`^Realising ${reference}: (\\d+)/${paths} paths, ([0-9.]+)/([0-9.]+) MB \\((\\d+)%\\)(, [0-9.]+ MB/s)?$`).exec(m);
      expect(match, m).not.toBeNull();
      return { done: Number(match?.[1]), percent: Number(match?.[4]) };
    });
    for (let i = 1; i < parsed.length; i++) expect(parsed[i]?.percent).toBeGreaterThanOrEqual(parsed[i - 1]?.percent ?? 0);
    expect(parsed.some((p) => p.percent > 0 && p.percent < 100)).toBe(true);
    // Rate-limited per pod: consecutive events at least one interval apart, and no two alike.
    expect(new Set(parsed.map((p) => `${p.done} ${p.percent}`)).size).toBe(parsed.length);
    const times = events.map((e) => Date.parse(String(e['firstTimestamp'])));
    for (let i = 1; i < times.length; i++) expect((times[i] ?? 0) - (times[i - 1] ?? 0)).toBeGreaterThanOrEqual(INTERVAL_MS - 5);

    const lines = log.records.filter((r) => r['msg'] === 'realise progress' && r['environment'] === reference);
    expect(lines.length).toBeGreaterThanOrEqual(2);
    expect(lines.at(-1)).toMatchObject({ final: true, pathsDone: paths, pathsTotal: paths, line: expect.stringMatching(new RegExp(`^${paths}/${paths} paths, .* \\(100%\\)`)) as string });
  }, 120_000);

  it('posts no progress for a closure already in the store, only the Realised event', async () => {
    apiserver.putPod({ metadata: { name: 'warm', namespace: 'apps', annotations: { 'flox.dev/environment': `acme/slow:${generation}` } }, spec: { nodeName: 'node-p', runtimeClassName: 'flox' } });
    await until('the Realised event', () => apiserver.events.find((e) => e['reason'] === 'FloxRealised' && (e['involvedObject'] as { name: string }).name === 'warm'));
    expect(apiserver.events.filter((e) => e['reason'] === 'FloxRealising' && (e['involvedObject'] as { name: string }).name === 'warm')).toEqual([]);
  }, 60_000);
});
