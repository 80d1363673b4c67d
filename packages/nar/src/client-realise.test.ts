import { execFileSync } from 'node:child_process';
import { mkdtemp, readFile, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { nixFixtures, serveCache, type NixFixtures } from '@flox-k8s/nix-fixtures';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { copyCache, readNarinfo, rewriteNarinfo } from '../test/cache-kit.ts';
import { nixDump } from '../test/nix.ts';
import { BinaryCacheClient, type ClientEvent } from './client.ts';
import { sha256Nix32 } from './hash.ts';
import { removeTree } from './remove-tree.ts';

describe('BinaryCacheClient realises the fixture caches', () => {
  let fx: NixFixtures;
  let tmp: string;
  beforeAll(async () => {
    fx = await nixFixtures();
    tmp = await mkdtemp(join(tmpdir(), 'nar-client-'));
  });
  afterAll(async () => {
    await removeTree(tmp);
  });

  it.each(['xz', 'zstd', 'bzip2', 'none'] as const)('%s: closure + fetchNar reproduce every store path exactly', async (compression) => {
    const server = await serveCache(fx.caches[compression]);
    const events: ClientEvent[] = [];
    const client = new BinaryCacheClient({ caches: [{ url: server.url }], trustedKeys: [fx.publicKey], onProgress: (e) => events.push(e) });
    try {
      const closure = await client.closure([fx.storePaths.script, fx.storePaths.tree]);
      expect([...closure.keys()]).toEqual(fx.closure);
      for (const [storePath, found] of closure) {
        expect(found.narinfo.compression).toBe(compression);
        const dest = join(tmp, `${compression}-${storePath.slice(11)}`);
        const result = await client.fetchNar(found, dest);
        expect(result).toEqual({ narHash: found.narinfo.narHash, narSize: found.narinfo.narSize, fileSize: found.narinfo.fileSize });
        expect(nixDump(dest).equals(nixDump(storePath))).toBe(true);
        const done = events.filter((e) => e.type === 'progress' && e.storePath === storePath && e.done);
        expect(done).toEqual([expect.objectContaining({ bytesIn: found.narinfo.fileSize, bytesOut: found.narinfo.narSize })]);
      }
      // One narinfo request per path: closure lookups are cached.
      expect(server.count(/\.narinfo$/)).toBe(fx.closure.length);
    } finally {
      await client.close();
      await server.close();
    }
  });

  it('decodes a multi-frame zstd NAR', async () => {
    const dir = await copyCache(fx.caches.none, join(tmp, 'multiframe'));
    const secret = await readFile(fx.secretKeyFile, 'utf8');
    const info = await readNarinfo(dir, fx.storePaths.busybox);
    const nar = await readFile(join(dir, info.url));
    const half = Math.floor(nar.length / 2);
    const frames = Buffer.concat([
      execFileSync('zstd', ['-c', '-q'], { input: nar.subarray(0, half) }),
      execFileSync('zstd', ['-c', '-q'], { input: nar.subarray(half) }),
    ]);
    await writeFile(join(dir, 'nar', 'multiframe.nar.zst'), frames);
    await rewriteNarinfo(
      dir,
      fx.storePaths.busybox,
      (n) => ({ ...n, url: 'nar/multiframe.nar.zst', compression: 'zstd', fileHash: sha256Nix32(frames), fileSize: frames.length }),
      secret,
    );
    const server = await serveCache(dir);
    const client = new BinaryCacheClient({ caches: [{ url: server.url }], trustedKeys: [fx.publicKey] });
    try {
      const dest = join(tmp, 'multiframe-out');
      await client.fetchNar(await client.narinfo(fx.storePaths.busybox), dest);
      expect(nixDump(dest).equals(nar)).toBe(true);
    } finally {
      await client.close();
      await server.close();
    }
  });

  it('refuses a destination that exists with FLOXK8S_NAR_DESTINATION and leaves it alone', async () => {
    const server = await serveCache(fx.caches.zstd);
    const client = new BinaryCacheClient({ caches: [{ url: server.url }], trustedKeys: [fx.publicKey] });
    try {
      const dest = join(tmp, 'existing');
      await writeFile(dest, 'mine');
      await expect(client.fetchNar(await client.narinfo(fx.storePaths.tree), dest)).rejects.toMatchObject({ code: 'FLOXK8S_NAR_DESTINATION' });
      expect(await readFile(dest, 'utf8')).toBe('mine');
    } finally {
      await client.close();
      await server.close();
    }
  });
});
