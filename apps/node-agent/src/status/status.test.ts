// GET /status on a real HTTP server over a real store realised from the Nix fixture's cache:
// the store's paths and NAR bytes, readiness, and GC passes as the GC loop reports them
// (skipped, collected, failed closed on a damaged root).
import { readdirSync, rmSync, truncateSync } from 'node:fs';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { nodeStatusSchema, type NodeStatus } from '@flox-k8s/agent-protocol';
import { nixFixtures, serveCache, type NixFixtures, type ServedCache } from '@flox-k8s/nix-fixtures';
import { Store } from '@flox-k8s/store';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { gcOnce } from '../gc/gc-loop.ts';
import { memoryLogger } from '../log.ts';
import { listenObservability, Readiness, type ObservabilityServer } from '../metrics/http-server.ts';
import { createMetrics } from '../metrics/metrics.ts';
import { GcHistory } from './gc-history.ts';
import { statusRoute } from './status-route.ts';

let fixtures: NixFixtures;
let cache: ServedCache;
let dir: string;
let store: Store;
let server: ObservabilityServer;
const history = new GcHistory();
const readiness = new Readiness();
const errors: unknown[] = [];
const disk = { totalBytes: 1e12, usedBytes: 4e11 };

beforeAll(async () => {
  fixtures = await nixFixtures();
  cache = await serveCache(fixtures.caches.none);
  dir = await mkdtemp(join(tmpdir(), 'flox-agent-status-'));
  store = await Store.open(join(dir, 'store'));
  await store.realise(fixtures.closure, { caches: [{ url: cache.url }], trustedKeys: [fixtures.publicKey] });
  readiness.set('socket', true);
  readiness.set('watch', true);
  server = await listenObservability({ host: '127.0.0.1', port: 0, registry: createMetrics().registry, readiness });
  const source = { node: 'node-a', system: 'x86_64-linux', version: '1.2.3', startedAt: new Date('2026-12-03T13:00:00Z'), readiness, store, gc: { intervalSeconds: 300, highWatermark: 0.85, lowWatermark: 0.7, history }, disk: async () => disk };
  server.mount('/status', statusRoute(source, (error) => errors.push(error)));
}, 300_000);

afterAll(async () => {
  await server?.close();
  await cache?.close();
  if (dir) await rm(dir, { recursive: true, force: true });
});

async function getStatus(): Promise<NodeStatus> {
  const res = await fetch(`${server.url}/status`);
  expect(res.status).toBe(200);
  expect(res.headers.get('content-type')).toBe('application/json');
  return nodeStatusSchema.parse(await res.json());
}

const narBytesOf = (paths: readonly string[]): number => paths.reduce((sum, p) => sum + store.pathInfo(p)!.narSize, 0);
const pass = (usage: typeof disk) => gcOnce({ store, intervalMs: 1_000, highWatermark: 0.85, lowWatermark: 0.7, metrics: createMetrics(), log: memoryLogger(), usage: async () => usage, onPass: (p) => history.record(p) });

describe('GET /status', () => {
  it('reports the agent, the store as it is now and no GC pass before the first one ends', async () => {
    const status = await getStatus();
    expect(status).toEqual({
      apiVersion: 'flox.dev/v1alpha1',
      kind: 'NodeStatus',
      node: 'node-a',
      system: 'x86_64-linux',
      agent: { version: '1.2.3', startedAt: '2026-12-03T13:00:00.000Z', ready: true, checks: [{ name: 'socket', ok: true }, { name: 'watch', ok: true }] },
      store: { root: join(dir, 'store'), paths: fixtures.closure.length, narBytes: narBytesOf(fixtures.closure), disk },
      gc: { intervalSeconds: 300, highWatermark: 0.85, lowWatermark: 0.7, passes: 0 },
    });
    expect(readdirSync(store.hostStoreDir)).toHaveLength(fixtures.closure.length);
  });

  it('reports the last pass and the last collection as the GC loop reports them', async () => {
    await pass({ totalBytes: 100, usedBytes: 10 });
    const skipped = await getStatus();
    expect(skipped.gc).toMatchObject({ passes: 1, last: { outcome: 'skipped', freedBytes: 0, deletedPaths: 0, storeBytes: narBytesOf(fixtures.closure), disk: { totalBytes: 100, usedBytes: 10 } } });
    expect(skipped.gc.lastCollection).toBeUndefined();

    // A full disk with only the script's closure pinned: `tree` goes.
    store.pin('status-test', [fixtures.storePaths.script]);
    const treeBytes = narBytesOf([fixtures.storePaths.tree]);
    const allBytes = narBytesOf(fixtures.closure);
    const result = await pass({ totalBytes: 1e12, usedBytes: 1e12 });
    expect(result?.deleted).toEqual([fixtures.storePaths.tree]);
    const collected = await getStatus();
    expect(collected.store).toMatchObject({ paths: fixtures.closure.length - 1, narBytes: allBytes - treeBytes });
    expect(collected.gc.last).toMatchObject({ outcome: 'collected', freedBytes: treeBytes, deletedPaths: 1 });
    expect(collected.gc.lastCollection).toEqual(collected.gc.last);
    expect(Date.parse(collected.gc.last!.finishedAt)).toBeGreaterThanOrEqual(Date.parse(collected.gc.last!.startedAt));

    // A pin torn in half: GC fails closed, and says why.
    const pinFile = join(store.root, 'roots', 'pins', readdirSync(join(store.root, 'roots', 'pins'))[0]!);
    truncateSync(pinFile, 3);
    await pass({ totalBytes: 1e12, usedBytes: 1e12 });
    const failed = await getStatus();
    expect(failed.gc).toMatchObject({ passes: 3, last: { outcome: 'error', code: 'FLOXK8S_STORE_GC_ROOT_UNREADABLE', freedBytes: 0 }, lastCollection: collected.gc.last });
    expect(failed.gc.last!.message).toContain(pinFile);
    rmSync(pinFile);
  });

  it('reports readiness as /readyz does, answers HEAD, and 404 below /status', async () => {
    readiness.set('watch', false);
    expect((await getStatus()).agent).toMatchObject({ ready: false, checks: [{ name: 'socket', ok: true }, { name: 'watch', ok: false }] });
    readiness.set('watch', true);
    const head = await fetch(`${server.url}/status`, { method: 'HEAD' });
    expect([head.status, await head.text()]).toEqual([200, '']);
    expect((await fetch(`${server.url}/status/more`)).status).toBe(404);
    expect((await fetch(`${server.url}/status`, { method: 'POST' })).status).toBe(405);
    expect(errors).toEqual([]);
  });

  it('answers 500 with the code when the store cannot be read', async () => {
    const broken = await mkdtemp(join(tmpdir(), 'flox-agent-status-broken-'));
    const brokenStore = await Store.open(broken);
    rmSync(join(broken, 'meta'), { recursive: true });
    const local = await listenObservability({ host: '127.0.0.1', port: 0, registry: createMetrics().registry, readiness });
    const seen: unknown[] = [];
    local.mount('/status', statusRoute({ node: 'n', system: 'x86_64-linux', version: '1', startedAt: new Date(), readiness, store: brokenStore, gc: { intervalSeconds: 1, highWatermark: 0.9, lowWatermark: 0.5, history: new GcHistory() } }, (e) => seen.push(e)));
    try {
      const res = await fetch(`${local.url}/status`);
      expect(res.status).toBe(500);
      expect(((await res.json()) as { error: { code: string } }).error.code).toBe('FLOXK8S_AGENT_UNKNOWN');
      expect(seen).toHaveLength(1);
    } finally {
      await local.close();
      await rm(broken, { recursive: true, force: true });
    }
  });
});
