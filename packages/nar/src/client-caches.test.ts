import { mkdir, mkdtemp, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { nixFixtures, serveCache, type NixFixtures } from '@flox-k8s/nix-fixtures';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { BinaryCacheClient } from './client.ts';
import { removeTree } from './remove-tree.ts';

describe('BinaryCacheClient with several caches', () => {
  let fx: NixFixtures;
  let tmp: string;
  let empty: string;
  beforeAll(async () => {
    fx = await nixFixtures();
    tmp = await mkdtemp(join(tmpdir(), 'nar-caches-'));
    empty = join(tmp, 'empty-cache');
    await mkdir(empty);
    await writeFile(join(empty, 'nix-cache-info'), 'StoreDir: /nix/store\nPriority: 10\n');
  });
  afterAll(async () => {
    await removeTree(tmp);
  });

  /** Serve a cache whose nix-cache-info announces `priority`. */
  function withPriority(dir: string, priority: number): ReturnType<typeof serveCache> {
    return serveCache(dir, {
      onRequest: (req, res) => {
        if (req.url !== '/nix-cache-info') return false;
        res.writeHead(200).end(`StoreDir: /nix/store\nWantMassQuery: 1\nPriority: ${priority}\n`);
        return true;
      },
    });
  }

  it('asks caches in nix-cache-info Priority order, falling through to the next on 404', async () => {
    const low = await withPriority(fx.caches.xz, 60);
    const high = await withPriority(fx.caches.zstd, 30);
    const none = await serveCache(empty);
    const client = new BinaryCacheClient({ caches: [{ url: low.url }, { url: high.url }, { url: none.url }], trustedKeys: [fx.publicKey] });
    try {
      const found = await client.narinfo(fx.storePaths.tree);
      expect(found.cache.url).toBe(high.url);
      expect(found.narinfo.compression).toBe('zstd');
      // The empty cache (Priority 10) was asked first and answered 404.
      expect(none.count(/\.narinfo$/)).toBe(1);
      expect(low.count(/\.narinfo$/)).toBe(0);
    } finally {
      await client.close();
      await Promise.all([low.close(), high.close(), none.close()]);
    }
  });

  it('lets a configured priority override nix-cache-info', async () => {
    const a = await withPriority(fx.caches.xz, 60);
    const b = await withPriority(fx.caches.zstd, 30);
    const client = new BinaryCacheClient({ caches: [{ url: a.url, priority: 1 }, { url: b.url }], trustedKeys: [fx.publicKey] });
    try {
      expect((await client.narinfo(fx.storePaths.tree)).narinfo.compression).toBe('xz');
    } finally {
      await client.close();
      await Promise.all([a.close(), b.close()]);
    }
  });

  it('skips a cache whose StoreDir is not ours', async () => {
    const other = await serveCache(fx.caches.xz, {
      onRequest: (req, res) => {
        if (req.url !== '/nix-cache-info') return false;
        res.writeHead(200).end('StoreDir: /gnu/store\nPriority: 1\n');
        return true;
      },
    });
    const ours = await serveCache(fx.caches.zstd);
    const client = new BinaryCacheClient({ caches: [{ url: other.url }, { url: ours.url }], trustedKeys: [fx.publicKey] });
    try {
      expect((await client.narinfo(fx.storePaths.tree)).cache.url).toBe(ours.url);
      expect(other.count(/\.narinfo$/)).toBe(0);
    } finally {
      await client.close();
      await Promise.all([other.close(), ours.close()]);
    }
  });

  it('remembers found narinfos, and missing ones for negativeTtlMs', async () => {
    const server = await serveCache(fx.caches.zstd);
    const client = new BinaryCacheClient({ caches: [{ url: server.url }], trustedKeys: [fx.publicKey], negativeTtlMs: 300 });
    const missing = '/nix/store/00000000000000000000000000000000-missing';
    try {
      await Promise.all([client.narinfo(fx.storePaths.tree), client.narinfo(fx.storePaths.tree)]);
      await client.narinfo(fx.storePaths.tree);
      expect(server.count(/\.narinfo$/)).toBe(1);
      await expect(client.narinfo(missing)).rejects.toMatchObject({ code: 'FLOXK8S_NARINFO_NOT_FOUND' });
      await expect(client.narinfo(missing)).rejects.toMatchObject({ code: 'FLOXK8S_NARINFO_NOT_FOUND' });
      expect(server.count('/00000000000000000000000000000000.narinfo')).toBe(1);
      await sleep(400);
      await expect(client.narinfo(missing)).rejects.toMatchObject({ code: 'FLOXK8S_NARINFO_NOT_FOUND' });
      expect(server.count('/00000000000000000000000000000000.narinfo')).toBe(2);
      await expect(client.closure([fx.storePaths.script, missing])).rejects.toMatchObject({ code: 'FLOXK8S_NARINFO_NOT_FOUND' });
    } finally {
      await client.close();
      await server.close();
    }
  });

  it('sends bearer and basic credentials, inline or from a credentials file', async () => {
    const seen: Array<string | undefined> = [];
    const guarded = (expected: string): ReturnType<typeof serveCache> =>
      serveCache(fx.caches.zstd, {
        onRequest: (req, res) => {
          seen.push(req.headers.authorization);
          if (req.headers.authorization === expected) return false;
          res.writeHead(401, { 'content-length': '0' }).end();
          return true;
        },
      });
    const bearer = await guarded('Bearer s3cret');
    const basic = await guarded(`Basic ${Buffer.from('alice:pa:ss').toString('base64')}`);
    const file = join(tmp, 'credentials.json');
    await writeFile(file, JSON.stringify({ version: 1, caches: [{ url: basic.url, username: 'alice', password: 'pa:ss' }] }));
    const anonymous = new BinaryCacheClient({ caches: [{ url: bearer.url }], trustedKeys: [fx.publicKey], retries: 0 });
    const client = new BinaryCacheClient({
      caches: [{ url: bearer.url, credentials: { bearer: 's3cret' } }, { url: basic.url }],
      trustedKeys: [fx.publicKey],
      credentialsFile: file,
    });
    try {
      await expect(anonymous.narinfo(fx.storePaths.tree)).rejects.toMatchObject({ code: 'FLOXK8S_CACHE_HTTP' });
      const found = await client.narinfo(fx.storePaths.tree);
      await client.fetchNar(found, join(tmp, 'auth-out'));
      expect(bearer.count(/\.narinfo$/) + bearer.count('/nar/')).toBeGreaterThanOrEqual(2);
      const viaBasic = new BinaryCacheClient({ caches: [{ url: basic.url }], trustedKeys: [fx.publicKey], credentialsFile: file });
      await viaBasic.narinfo(fx.storePaths.tree);
      await viaBasic.close();
      expect(basic.count(/\.narinfo$/)).toBe(1);
    } finally {
      await anonymous.close();
      await client.close();
      await Promise.all([bearer.close(), basic.close()]);
    }
  });

  it('follows redirects of NAR downloads to another server, without leaking the bearer token there', async () => {
    const storage = await serveCache(fx.caches.zstd, {
      onRequest: (req) => {
        expect(req.headers.authorization).toBeUndefined();
        return false;
      },
    });
    const front = await serveCache(fx.caches.zstd, {
      onRequest: (req, res) => {
        if (!req.url?.startsWith('/nar/')) return false;
        res.writeHead(302, { location: `${storage.url}${req.url}`, 'content-length': '0' }).end();
        return true;
      },
    });
    const client = new BinaryCacheClient({ caches: [{ url: front.url, credentials: { bearer: 'front-only' } }], trustedKeys: [fx.publicKey] });
    try {
      await client.fetchNar(await client.narinfo(fx.storePaths.tree), join(tmp, 'redirected'));
      expect(front.count('/nar/')).toBe(1);
      expect(storage.count('/nar/')).toBe(1);
    } finally {
      await client.close();
      await Promise.all([front.close(), storage.close()]);
    }
  });
});
