// The grace period: a realise whose last caller left (kubelet's CRI deadline, no prefetch) keeps
// going, and the caller's retry joins it instead of fetching the NARs again from byte 0.
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { nixFixtures, serveCache, type NixFixtures } from '@flox-k8s/nix-fixtures';
import { Store } from '@flox-k8s/store';
import { RealiseCoordinator, type GraceEvent } from './coordinator.ts';
import { storeRealiser } from './store-realiser.ts';
import { scriptedRealiser } from './test-scripted-realiser.ts';
import type { RealiseJob } from './types.ts';

const pathA = '/nix/store/0c1g8fghqcmq8l8hzcv8w8p8mxm2jp3r-busybox-1.36.1';
const job: RealiseJob = { storePaths: [pathA], environment: 'acme/echo:1', digest: 'a'.repeat(64) };

const until = async (what: string, cond: () => boolean, ms = 10_000): Promise<void> => {
  const deadline = Date.now() + ms;
  while (!cond()) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 10));
  }
};

function coordinator(graceMs: number) {
  const realiser = scriptedRealiser();
  const events: GraceEvent['type'][] = [];
  const c = new RealiseCoordinator(realiser, () => {}, { graceMs, onGrace: (e) => events.push(e.type) });
  return { c, realiser, events };
}

async function leave(c: RealiseCoordinator): Promise<void> {
  const caller = new AbortController();
  const left = c.realise(job, { signal: caller.signal });
  caller.abort();
  await expect(left).rejects.toMatchObject({ code: 'FLOXK8S_AGENT_REALISE_CANCELLED' });
}

describe('RealiseCoordinator grace period (scripted realiser)', () => {
  it('keeps a realise going when its only caller leaves; a caller coming back joins it', async () => {
    const { c, realiser, events } = coordinator(60_000);
    await leave(c);
    expect(c.orphaned).toBe(1);
    expect(realiser.aborted).toEqual([]);
    const retry = c.realise(job);
    expect(c.orphaned).toBe(0);
    realiser.release();
    await expect(retry).resolves.toMatchObject({ closure: [pathA] });
    expect(realiser.calls).toHaveLength(1);
    expect(events).toEqual(['orphaned', 'rejoined']);
  });

  it('cancels it when nobody comes back within the grace period; the next caller starts afresh', async () => {
    const { c, realiser, events } = coordinator(100);
    await leave(c);
    await until('the grace period to expire', () => realiser.aborted.length === 1);
    expect(events).toEqual(['orphaned', 'expired']);
    expect(c.inFlight).toBe(0);
    const later = c.realise(job);
    await until('a second realise', () => realiser.calls.length === 2);
    realiser.release();
    await expect(later).resolves.toMatchObject({ closure: [pathA] });
  });

  it('finishes with nobody waiting: the event says so, and the flight is gone', async () => {
    const { c, realiser, events } = coordinator(60_000);
    await leave(c);
    realiser.release();
    await until('completion', () => events.length === 2);
    expect(events).toEqual(['orphaned', 'completed']);
    expect({ inFlight: c.inFlight, orphaned: c.orphaned }).toEqual({ inFlight: 0, orphaned: 0 });
  });

  it('with graceMs 0 cancels at once (the old behaviour, kept as an option)', async () => {
    const { c, realiser, events } = coordinator(0);
    await leave(c);
    await until('the abort', () => realiser.aborted.length === 1);
    expect(events).toEqual([]);
  });

  it('a caller arriving while an expired realise winds down gets a new one, not the cancelled one', async () => {
    // A realiser that takes a moment to stop after its abort, as a store removing temp files does.
    const calls: Array<{ signal: AbortSignal; resolve: () => void }> = [];
    const slow = {
      storeRoot: '/s',
      realise: (_job: RealiseJob, { signal }: { signal: AbortSignal }) =>
        new Promise<never>((_, reject) => {
          calls.push({ signal, resolve: () => reject(signal.reason) });
        }),
    };
    const c = new RealiseCoordinator(slow, () => {}, { graceMs: 50 });
    await leave(c);
    await until('the expiry', () => calls[0]?.signal.aborted === true);
    const fresh = c.realise(job);
    expect(calls).toHaveLength(2);
    expect(calls[1]?.signal.aborted).toBe(false);
    calls[0]?.resolve();
    await new Promise((r) => setTimeout(r, 20));
    // The old flight's end did not take the new one out of the table.
    expect(c.inFlight).toBe(1);
    c.close();
    calls[1]?.resolve();
    await expect(fresh).rejects.toMatchObject({ code: 'FLOXK8S_AGENT_REALISE_CANCELLED' });
  });
});

describe('RealiseCoordinator grace period on the real store, a slow cache', () => {
  let fixtures: NixFixtures;
  let dir: string;
  beforeAll(async () => {
    fixtures = await nixFixtures();
    dir = await mkdtemp(join(tmpdir(), 'flox-agent-grace-'));
  }, 300_000);
  afterAll(async () => {
    if (dir) await rm(dir, { recursive: true, force: true });
  });

  // The caller leaves once 64 kB of the 878 kB busybox NAR went out; the retry comes 300 ms later.
  async function deadlineThenRetry(graceMs: number, name: string): Promise<{ narRequests: Map<string, number>; closure: string[] }> {
    const cache = await serveCache(fixtures.caches.xz, { narBytesPerSecond: 400_000 });
    try {
      const store = await Store.open(join(dir, name));
      const realiser = storeRealiser({ store, caches: [{ url: cache.url }], trustedKeys: [fixtures.publicKey] });
      const c = new RealiseCoordinator(realiser, () => {}, { graceMs });
      const storeJob: RealiseJob = { storePaths: [fixtures.storePaths.script], environment: 'acme/fixture', digest: 'b'.repeat(64) };
      const deadline = new AbortController();
      let fetchedBytes = 0;
      const first = c.realise(storeJob, {
        signal: deadline.signal,
        onProgress: (e) => {
          if (e.phase === 'fetch' && (fetchedBytes = Math.max(fetchedBytes, e.bytes ?? 0)) > 64_000) deadline.abort();
        },
      });
      await expect(first).rejects.toMatchObject({ code: 'FLOXK8S_AGENT_REALISE_CANCELLED' });
      await new Promise((r) => setTimeout(r, 300));
      const retry = await c.realise(storeJob);
      await realiser.close();
      const narRequests = new Map<string, number>();
      for (const r of cache.requests) if (r.path.startsWith('/nar/')) narRequests.set(r.path, (narRequests.get(r.path) ?? 0) + 1);
      return { narRequests, closure: retry.closure };
    } finally {
      await cache.close();
    }
  }

  it('the retry joins the running fetch: every NAR is fetched exactly once', async () => {
    const { narRequests, closure } = await deadlineThenRetry(60_000, 'grace');
    expect(closure).toEqual([fixtures.storePaths.busybox, fixtures.storePaths.data, fixtures.storePaths.script].sort());
    expect([...narRequests.values()]).toEqual([1, 1, 1]);
  }, 120_000);

  it('without a grace period the retry starts the cut NAR again from byte 0 (what kubelet retries used to cost)', async () => {
    const { narRequests } = await deadlineThenRetry(0, 'no-grace');
    expect(Math.max(...narRequests.values())).toBe(2);
  }, 120_000);
});
