import { mkdtemp, readFile, readdir } from 'node:fs/promises';
import type { ServerResponse } from 'node:http';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { nixFixtures, serveCache, type NixFixtures } from '@flox-k8s/nix-fixtures';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { readNarinfo } from '../test/cache-kit.ts';
import { nixDump } from '../test/nix.ts';
import { BinaryCacheClient, type ClientEvent } from './client.ts';
import { removeTree } from './remove-tree.ts';

type Fault = (res: ServerResponse, body: Buffer) => void;

const fail503: Fault = (res) => {
  res.writeHead(503, { 'content-length': '0' }).end();
};
// Promise the whole body, send 40% of it, then cut the connection.
const resetMidBody: Fault = (res, body) => {
  res.writeHead(200, { 'content-length': String(body.length) });
  res.write(body.subarray(0, Math.floor(body.length * 0.4)), () => res.socket?.destroy());
};

describe('BinaryCacheClient recovers from faults within its retry budget', () => {
  let fx: NixFixtures;
  let tmp: string;
  let narUrl: string;
  let narBody: Buffer;
  const stalled: ServerResponse[] = [];
  // Send 40% of the body, then go silent (the server keeps the connection open).
  const stall: Fault = (res, body) => {
    res.writeHead(200, { 'content-length': String(body.length) });
    res.write(body.subarray(0, Math.floor(body.length * 0.4)));
    stalled.push(res);
  };

  beforeAll(async () => {
    fx = await nixFixtures();
    tmp = await mkdtemp(join(tmpdir(), 'nar-faults-'));
    const info = await readNarinfo(fx.caches.zstd, fx.storePaths.busybox);
    narUrl = `/${info.url}`;
    narBody = await readFile(join(fx.caches.zstd, info.url));
  });
  afterAll(async () => {
    for (const res of stalled) res.destroy();
    await removeTree(tmp);
  });

  /** Serve the zstd cache; the first `faults.length` requests for `path` get the faults in order. */
  async function run(path: () => string, faults: Fault[], opts: { retries: number }): Promise<{ result: unknown; requests: number; events: ClientEvent[]; dest: string }> {
    let hits = 0;
    const server = await serveCache(fx.caches.zstd, {
      onRequest: (req, res) => {
        if (req.url !== path()) return false;
        const fault = faults[hits++];
        if (fault === undefined) return false;
        fault(res, narBody);
        return true;
      },
    });
    const events: ClientEvent[] = [];
    const client = new BinaryCacheClient({
      caches: [{ url: server.url }],
      trustedKeys: [fx.publicKey],
      retries: opts.retries,
      retryBaseDelayMs: 20,
      stallTimeoutMs: 400,
      onProgress: (e) => events.push(e),
    });
    const dest = join(tmp, `out-${Math.random().toString(36).slice(2)}`);
    try {
      const result = await client.fetchNar(await client.narinfo(fx.storePaths.busybox), dest).catch((e: unknown) => e);
      return { result, requests: server.count(path()), events, dest };
    } finally {
      await client.close();
      await server.close();
    }
  }

  it('a NAR that fails twice with 503 is fetched on the third request', async () => {
    const { result, requests, events, dest } = await run(() => narUrl, [fail503, fail503], { retries: 3 });
    expect(result).toMatchObject({ narSize: expect.any(Number) });
    expect(requests).toBe(3);
    expect(events.filter((e) => e.type === 'retry')).toHaveLength(2);
    expect(nixDump(dest).equals(nixDump(fx.storePaths.busybox))).toBe(true);
  });

  it('a narinfo that fails twice with 503 is looked up on the third request', async () => {
    const narinfoPath = `/${fx.storePaths.busybox.slice(11, 43)}.narinfo`;
    const { result, requests } = await run(() => narinfoPath, [fail503, fail503], { retries: 3 });
    expect(result).toMatchObject({ narSize: expect.any(Number) });
    expect(requests).toBe(3);
  });

  it('a connection reset mid-body restarts the download cleanly', async () => {
    const { result, requests, dest } = await run(() => narUrl, [resetMidBody], { retries: 3 });
    expect(result).toMatchObject({ narSize: expect.any(Number) });
    expect(requests).toBe(2);
    expect(nixDump(dest).equals(nixDump(fx.storePaths.busybox))).toBe(true);
  });

  it('a stalled body is abandoned after the stall timeout and retried', async () => {
    const started = Date.now();
    const { result, requests, dest } = await run(() => narUrl, [stall], { retries: 3 });
    expect(result).toMatchObject({ narSize: expect.any(Number) });
    expect(requests).toBe(2);
    expect(Date.now() - started).toBeLessThan(10_000);
    expect(nixDump(dest).equals(nixDump(fx.storePaths.busybox))).toBe(true);
  });

  it('gives up with FLOXK8S_CACHE_NETWORK once the budget is spent, leaving no dest', async () => {
    const { result, requests, dest } = await run(() => narUrl, [fail503, fail503, fail503, fail503], { retries: 2 });
    expect(result).toMatchObject({ code: 'FLOXK8S_CACHE_NETWORK' });
    expect(requests).toBe(3);
    expect(await readdir(tmp)).not.toContain(dest.split('/').pop());
  });

  it('does not retry a permanent HTTP error', async () => {
    const forbidden: Fault = (res) => {
      res.writeHead(401, { 'content-length': '0' }).end();
    };
    const { result, requests } = await run(() => narUrl, [forbidden, forbidden], { retries: 3 });
    expect(result).toMatchObject({ code: 'FLOXK8S_CACHE_HTTP' });
    expect(requests).toBe(1);
  });

  it('aborts a download through its signal with FLOXK8S_ABORTED, leaving no dest', async () => {
    const server = await serveCache(fx.caches.zstd, {
      onRequest: (req, res) => {
        if (req.url !== narUrl) return false;
        stall(res, narBody);
        return true;
      },
    });
    const client = new BinaryCacheClient({ caches: [{ url: server.url }], trustedKeys: [fx.publicKey], stallTimeoutMs: 20_000 });
    const dest = join(tmp, 'aborted');
    try {
      const found = await client.narinfo(fx.storePaths.busybox);
      const signal = AbortSignal.timeout(300);
      await expect(client.fetchNar(found, dest, { signal })).rejects.toMatchObject({ code: 'FLOXK8S_ABORTED' });
      expect(await readdir(tmp)).not.toContain('aborted');
      expect(server.count(narUrl)).toBe(1);
    } finally {
      await client.close();
      await server.close();
    }
  });
});
