import { mkdtemp, readFile, readdir } from 'node:fs/promises';
import type { ServerResponse } from 'node:http';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { nixFixtures, serveCache, type NixFixtures } from '@flox-k8s/nix-fixtures';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { readNarinfo } from '../test/cache-kit.ts';
import { BinaryCacheClient, type BinaryCacheClientOptions } from './client.ts';
import { deadlineMs, NAR_DEADLINE } from './deadline.ts';
import { removeTree } from './remove-tree.ts';

/** Sends `body` a few bytes at a time, each well inside any stall timeout, for as long as it takes. */
async function trickle(res: ServerResponse, body: Buffer, bytesPerTick: number, tickMs: number): Promise<void> {
  res.writeHead(200, { 'content-length': String(body.length) });
  for (let off = 0; off < body.length && !res.destroyed; off += bytesPerTick) {
    res.write(body.subarray(off, off + bytesPerTick));
    await sleep(tickMs);
  }
  res.end();
}

/** The outcome within `ms`, or 'still running'. */
async function within<T>(ms: number, p: Promise<T>): Promise<T | unknown> {
  return Promise.race([p.catch((e: unknown) => e), sleep(ms).then(() => 'still running')]);
}

describe('every fetch has an overall deadline', () => {
  let fx: NixFixtures;
  let tmp: string;
  beforeAll(async () => {
    fx = await nixFixtures();
    tmp = await mkdtemp(join(tmpdir(), 'nar-deadline-'));
  });
  afterAll(async () => {
    await removeTree(tmp);
  });

  async function run(trickled: 'nar' | 'narinfo', options: Partial<BinaryCacheClientOptions>, signal?: AbortSignal): Promise<{ outcome: unknown; ms: number; dest: string }> {
    const info = await readNarinfo(fx.caches.zstd, fx.storePaths.busybox);
    const narinfoPath = `/${fx.storePaths.busybox.slice(11, 43)}.narinfo`;
    const server = await serveCache(fx.caches.zstd, {
      onRequest: async (req, res) => {
        // ~10 kB/s, a tick every 50 ms: never a stall, and the NAR alone would take about a minute
        if (trickled === 'nar' && req.url === `/${info.url}`) await trickle(res, await readFile(join(fx.caches.zstd, info.url)), 512, 50);
        else if (trickled === 'narinfo' && req.url === narinfoPath) await trickle(res, await readFile(join(fx.caches.zstd, narinfoPath)), 4, 100);
        else return false;
        return true;
      },
    });
    const client = new BinaryCacheClient({ caches: [{ url: server.url }], trustedKeys: [fx.publicKey], stallTimeoutMs: 1_000, retries: 0, ...options });
    const dest = join(tmp, `out-${Math.random().toString(36).slice(2)}`);
    const started = Date.now();
    try {
      const outcome = await within(8_000, (async () => client.fetchNar(await client.narinfo(fx.storePaths.busybox, { signal }), dest, { signal }))());
      return { outcome, ms: Date.now() - started, dest };
    } finally {
      await client.close();
      await server.close();
    }
  }

  it('a NAR body trickling in under the stall timeout is stopped at its deadline: FLOXK8S_DEADLINE_EXCEEDED, nothing kept', async () => {
    const { outcome, ms, dest } = await run('nar', { narDeadlineMinMs: 1_500, narDeadlineMinBytesPerSecond: 1e12 });
    expect(outcome).toMatchObject({ code: 'FLOXK8S_DEADLINE_EXCEEDED' });
    expect(ms).toBeGreaterThanOrEqual(1_400);
    expect(ms).toBeLessThan(6_000);
    expect(await readdir(tmp)).not.toContain(dest.split('/').pop());
  });

  it('a narinfo trickling in under the stall timeout is stopped at its deadline', async () => {
    const { outcome, ms } = await run('narinfo', { narinfoDeadlineMs: 1_000 });
    expect(outcome).toMatchObject({ code: 'FLOXK8S_DEADLINE_EXCEEDED' });
    expect(ms).toBeLessThan(5_000);
  });

  it("the caller's own abort stays FLOXK8S_ABORTED", async () => {
    const { outcome } = await run('nar', {}, AbortSignal.timeout(800));
    expect(outcome).toMatchObject({ code: 'FLOXK8S_ABORTED' });
  });

  it('is sized from the file by default (5 min at least, 256 KiB/s), and its options must be positive', () => {
    expect(deadlineMs(1_000, NAR_DEADLINE)).toBe(300_000);
    expect(deadlineMs(1024 ** 3, NAR_DEADLINE)).toBe(4_096_000); // 1 GiB: 68 min
    for (const bad of [0, -1, Number.NaN, Infinity]) {
      expect(() => new BinaryCacheClient({ caches: [], trustedKeys: [], narDeadlineMinMs: bad })).toThrow(expect.objectContaining({ code: 'FLOXK8S_CLIENT_OPTIONS_INVALID' }));
      expect(() => new BinaryCacheClient({ caches: [], trustedKeys: [], narinfoDeadlineMs: bad })).toThrow(expect.objectContaining({ code: 'FLOXK8S_CLIENT_OPTIONS_INVALID' }));
    }
  });
});
