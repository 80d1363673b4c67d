import { mkdtemp, readFile } from 'node:fs/promises';
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { nixFixtures, type NixFixtures } from '@flox-k8s/nix-fixtures';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { readNarinfo } from '../test/cache-kit.ts';
import { BinaryCacheClient } from './client.ts';
import { serializeNarinfo, type Narinfo } from './narinfo.ts';
import { removeTree } from './remove-tree.ts';

interface Seen {
  path: string;
  authorization: string | undefined;
}

/** A loopback server recording every request with its Authorization header. */
async function recordingServer(handle: (req: IncomingMessage, res: ServerResponse) => Promise<void> | void): Promise<{ url: string; seen: Seen[]; server: Server }> {
  const seen: Seen[] = [];
  const server = createServer((req, res) => {
    seen.push({ path: req.url ?? '', authorization: req.headers.authorization });
    void Promise.resolve(handle(req, res)).catch(() => res.destroy());
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', () => r()));
  return { url: `http://127.0.0.1:${(server.address() as AddressInfo).port}`, seen, server };
}

const TOKEN = 'sekrit-cache-token';

describe("a cache's credentials go only to its origin and path prefix", () => {
  let fx: NixFixtures;
  let tmp: string;
  let info: Narinfo;
  let nar: Buffer;
  let narUrlField: string;
  let cache: Awaited<ReturnType<typeof recordingServer>>;
  let other: Awaited<ReturnType<typeof recordingServer>>;

  beforeAll(async () => {
    fx = await nixFixtures();
    tmp = await mkdtemp(join(tmpdir(), 'nar-cred-scope-'));
    info = await readNarinfo(fx.caches.zstd, fx.storePaths.data);
    nar = await readFile(join(fx.caches.zstd, info.url));
    other = await recordingServer((_req, res) => {
      res.writeHead(200, { 'content-length': String(nar.length) }).end(nar);
    });
    // The cache lives under /prefix/; its narinfo's URL field (unsigned) is whatever the test says.
    cache = await recordingServer(async (req, res) => {
      const path = req.url ?? '';
      if (path === '/prefix/nix-cache-info') return void res.writeHead(200).end('StoreDir: /nix/store\n');
      if (path.endsWith('.narinfo') && path === `/prefix/${fx.storePaths.data.slice(11, 43)}.narinfo`) {
        const text = serializeNarinfo({ ...info, url: narUrlField });
        return void res.writeHead(200, { 'content-length': String(Buffer.byteLength(text)) }).end(text);
      }
      if (path === `/prefix/${info.url}`) return void res.writeHead(200, { 'content-length': String(nar.length) }).end(nar);
      if (path === '/prefix/redirect-me') return void res.writeHead(302, { location: `${other.url}/${info.url}`, 'content-length': '0' }).end();
      res.writeHead(404, { 'content-length': '0' }).end();
    });
  });
  afterAll(async () => {
    cache.server.close();
    other.server.close();
    await removeTree(tmp);
  });

  async function fetchWith(urlField: string): Promise<unknown> {
    narUrlField = urlField;
    cache.seen.length = 0;
    other.seen.length = 0;
    const client = new BinaryCacheClient({ caches: [{ url: `${cache.url}/prefix`, credentials: { bearer: TOKEN } }], trustedKeys: [fx.publicKey], retries: 0 });
    try {
      const found = await client.narinfo(fx.storePaths.data);
      return await client.fetchNar(found, join(tmp, `out-${Math.random().toString(36).slice(2)}`)).catch((e: unknown) => e);
    } finally {
      await client.close();
    }
  }

  const outside = (): Array<[string, string]> => [
    ['an absolute URL on another host', `${other.url}/${info.url}`],
    ['a scheme-relative //host/ URL', `//${other.url.slice('http://'.length)}/${info.url}`],
    ['../ above the cache prefix', `../outside/${info.url}`],
    ['an absolute path outside the prefix', `/outside/${info.url}`],
    ['percent-encoded dot segments', `%2e%2e/%2e%2e/outside/${info.url}`],
    ['an encoded slash', `nar/..%2F..%2Foutside`],
    ['user info on the cache host', `http://someone:pw@${cache.url.slice('http://'.length)}/prefix/${info.url}`],
    ['https instead of http', `https://${cache.url.slice('http://'.length)}/prefix/${info.url}`],
    ['a file: URL', 'file:///etc/passwd'],
  ];

  it('is refused with FLOXK8S_NAR_URL_OUTSIDE_CACHE for every URL outside the cache, with no request anywhere', async () => {
    for (const [what, urlField] of outside()) {
      const result = await fetchWith(urlField);
      expect(other.seen.filter((s) => s.authorization !== undefined), `${what}: the token leaked`).toEqual([]);
      expect(result, what).toMatchObject({ code: 'FLOXK8S_NAR_URL_OUTSIDE_CACHE' });
      expect(other.seen, what).toEqual([]);
      expect(cache.seen.filter((s) => !s.path.endsWith('.narinfo') && !s.path.endsWith('nix-cache-info')), what).toEqual([]);
    }
  });

  it('is sent with NAR URLs inside the cache, relative or absolute', async () => {
    for (const urlField of [info.url, `${cache.url}/prefix/${info.url}`, `//${cache.url.slice('http://'.length)}/prefix/${info.url}`]) {
      const result = await fetchWith(urlField);
      expect(result, urlField).toMatchObject({ narHash: info.narHash, narSize: info.narSize });
      expect(cache.seen.find((s) => s.path === `/prefix/${info.url}`)?.authorization, urlField).toBe(`Bearer ${TOKEN}`);
    }
  });

  it("is not forwarded when the cache itself redirects the NAR to another origin", async () => {
    const result = await fetchWith('redirect-me');
    expect(result).toMatchObject({ narHash: info.narHash });
    expect(cache.seen.find((s) => s.path === '/prefix/redirect-me')?.authorization).toBe(`Bearer ${TOKEN}`);
    expect(other.seen).toEqual([{ path: `/${info.url}`, authorization: undefined }]);
  });
});
