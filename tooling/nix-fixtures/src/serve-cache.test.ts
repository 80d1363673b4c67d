import { mkdir, readFile, writeFile } from 'node:fs/promises';
import { request } from 'node:http';
import { join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { nixFixtures, type NixFixtures } from './fixtures.ts';
import { serveCache } from './serve-cache.ts';
import { nixSkipReason, tempDir } from './test-nix.ts';

/** A raw GET/HEAD that keeps the exact bytes and headers (fetch would decode and pool). */
function get(url: string, method = 'GET'): Promise<{ status: number; headers: Record<string, string | string[] | undefined>; body: Buffer }> {
  return new Promise((resolve, reject) => {
    const req = request(url, { method, agent: false }, (res) => {
      const chunks: Buffer[] = [];
      res.on('data', (chunk: Buffer) => chunks.push(chunk));
      res.on('end', () => resolve({ status: res.statusCode ?? 0, headers: res.headers, body: Buffer.concat(chunks) }));
      res.on('error', reject);
    });
    req.setTimeout(10_000, () => req.destroy(new Error('request timed out')));
    req.on('error', reject);
    req.end();
  });
}

describe('serveCache on a hand-made cache directory', () => {
  let work: { dir: string; cleanup: () => Promise<void> };
  const narinfo = 'StorePath: /nix/store/00000000000000000000000000000000-x\nURL: nar/abc.nar\nCompression: none\n';

  beforeAll(async () => {
    work = await tempDir('serve');
    await mkdir(join(work.dir, 'cache', 'nar'), { recursive: true });
    await writeFile(join(work.dir, 'cache', 'nix-cache-info'), 'StoreDir: /nix/store\nWantMassQuery: 1\nPriority: 40\n');
    await writeFile(join(work.dir, 'cache', '00000000000000000000000000000000.narinfo'), narinfo);
    await writeFile(join(work.dir, 'cache', 'nar', 'abc.nar'), Buffer.alloc(70_000, 0xab));
    await writeFile(join(work.dir, 'secret.key'), 'do-not-serve');
  });
  afterAll(() => work?.cleanup());

  it('paces NAR bodies at narBytesPerSecond, bytes exact; other files at once', async () => {
    const server = await serveCache(join(work.dir, 'cache'), { narBytesPerSecond: 100_000 });
    try {
      let started = performance.now();
      const nar = await get(`${server.url}/nar/abc.nar`);
      const narMs = performance.now() - started;
      expect(nar.body.equals(Buffer.alloc(70_000, 0xab))).toBe(true);
      // 70 kB at 100 kB/s: the last 16 KiB write is due at ~0.66 s.
      expect(narMs).toBeGreaterThan(550);
      started = performance.now();
      expect((await get(`${server.url}/00000000000000000000000000000000.narinfo`)).body.toString()).toBe(narinfo);
      expect(performance.now() - started).toBeLessThan(narMs);
    } finally {
      await server.close();
    }
  });

  it('serves files with their exact length and a Nix content type, and 404s what is missing', async () => {
    const server = await serveCache(join(work.dir, 'cache'));
    try {
      const info = await get(`${server.url}/00000000000000000000000000000000.narinfo`);
      expect(info.status).toBe(200);
      expect(info.body.toString()).toBe(narinfo);
      expect(info.headers['content-length']).toBe(String(Buffer.byteLength(narinfo)));
      expect(info.headers['content-type']).toBe('text/x-nix-narinfo');

      const nar = await get(`${server.url}/nar/abc.nar`);
      expect(nar.headers['content-length']).toBe('70000');
      expect(nar.body.equals(Buffer.alloc(70_000, 0xab))).toBe(true);

      const head = await get(`${server.url}/nar/abc.nar`, 'HEAD');
      expect(head.status).toBe(200);
      expect(head.headers['content-length']).toBe('70000');
      expect(head.body).toHaveLength(0);

      expect((await get(`${server.url}/11111111111111111111111111111111.narinfo`)).status).toBe(404);
      expect((await get(`${server.url}/nar`)).status).toBe(404); // a directory is not a file
      // An encoded slash survives URL normalisation; after decoding it must not escape the cache directory.
      const escape = await get(`${server.url}/..%2fsecret.key`);
      expect(escape.status).toBe(404);
      expect(escape.body.toString()).not.toContain('do-not-serve');
      expect((await get(`${server.url}/nix-cache-info`, 'DELETE')).status).toBe(405);
    } finally {
      await server.close();
    }
  });

  it('logs every request and counts them by prefix or pattern', async () => {
    const server = await serveCache(join(work.dir, 'cache'));
    try {
      await get(`${server.url}/nix-cache-info`);
      await get(`${server.url}/00000000000000000000000000000000.narinfo`, 'HEAD');
      await get(`${server.url}/00000000000000000000000000000000.narinfo`);
      await get(`${server.url}/nar/abc.nar?ignored=query`);
      await get(`${server.url}/missing.narinfo`);
      expect(server.requests).toEqual([
        { method: 'GET', path: '/nix-cache-info' },
        { method: 'HEAD', path: '/00000000000000000000000000000000.narinfo' },
        { method: 'GET', path: '/00000000000000000000000000000000.narinfo' },
        { method: 'GET', path: '/nar/abc.nar' },
        { method: 'GET', path: '/missing.narinfo' },
      ]);
      expect(server.count('/nar/')).toBe(1);
      expect(server.count(/\.narinfo$/)).toBe(3);
      const global = /\.narinfo$/g;
      expect([server.count(global), server.count(global)]).toEqual([3, 3]);
      expect(server.count('/')).toBe(5);
    } finally {
      await server.close();
    }
  });

  it('lets onRequest answer (fault injection) or fall through to the file', async () => {
    const server = await serveCache(join(work.dir, 'cache'), {
      onRequest: (req, res) => {
        if (req.url?.startsWith('/nar/')) {
          res.writeHead(503, { 'content-length': '0' }).end();
          return true;
        }
        return undefined;
      },
    });
    try {
      expect((await get(`${server.url}/nar/abc.nar`)).status).toBe(503);
      expect((await get(`${server.url}/nix-cache-info`)).status).toBe(200);
      expect(server.count('/nar/')).toBe(1);
    } finally {
      await server.close();
    }
  });

  it('refuses connections once closed, and closes itself when idle', async () => {
    const server = await serveCache(join(work.dir, 'cache'));
    await server.close();
    await server.close(); // idempotent
    await expect(get(`${server.url}/nix-cache-info`)).rejects.toMatchObject({ code: 'ECONNREFUSED' });

    const idle = await serveCache(join(work.dir, 'cache'), { idleCloseMs: 100 });
    expect((await get(`${idle.url}/nix-cache-info`)).status).toBe(200);
    // Bounded wait: the idle timer fires 100 ms after the last request.
    for (let i = 0; i < 50; i++) {
      const refused = await get(`${idle.url}/nix-cache-info`).then(
        () => false,
        (error: { code?: string }) => error.code === 'ECONNREFUSED',
      );
      if (refused) return;
      await sleep(150);
    }
    throw new Error('the idle server did not close itself within 7.5 s');
  });
});

const skip = nixSkipReason();

describe.skipIf(skip !== undefined)(`serveCache on the real fixture caches${skip ? ` (skipped: ${skip})` : ''}`, () => {
  let fixtures: NixFixtures;
  beforeAll(async () => {
    fixtures = await nixFixtures();
  });

  it.each(['xz', 'zstd', 'bzip2', 'none'] as const)('serves %s narinfos byte-identical to the files', async (compression) => {
    const server = await serveCache(fixtures.caches[compression]);
    try {
      for (const storePath of fixtures.closure) {
        const hash = storePath.slice('/nix/store/'.length, '/nix/store/'.length + 32);
        const file = await readFile(join(fixtures.caches[compression], `${hash}.narinfo`));
        const served = await get(`${server.url}/${hash}.narinfo`);
        expect(served.body.equals(file)).toBe(true);
        expect(served.body.toString()).toContain(`Compression: ${compression}\n`);
        const url = /^URL: (.+)$/m.exec(served.body.toString())?.[1];
        const nar = await get(`${server.url}/${url}`, 'HEAD');
        expect(nar.status).toBe(200);
        expect(nar.headers['content-length']).toBe(/^FileSize: (\d+)$/m.exec(served.body.toString())?.[1]);
      }
    } finally {
      await server.close();
    }
  });
});
