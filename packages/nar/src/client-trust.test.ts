import { generateKeyPairSync } from 'node:crypto';
import { mkdtemp, readFile, readdir, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { nixFixtures, serveCache, type NixFixtures } from '@flox-k8s/nix-fixtures';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { copyCache, narinfoFile, readNarinfo, rewriteNarinfo } from '../test/cache-kit.ts';
import { BinaryCacheClient, type BinaryCacheClientOptions } from './client.ts';
import { serializeNarinfo } from './narinfo.ts';
import { removeTree } from './remove-tree.ts';

/** A fresh `name:base64` public key that signed nothing. */
function strangerKey(): string {
  const { publicKey } = generateKeyPairSync('ed25519');
  const der = publicKey.export({ format: 'der', type: 'spki' });
  return `stranger-1:${der.subarray(12).toString('base64')}`;
}

describe('BinaryCacheClient never trusts what it downloads', () => {
  let fx: NixFixtures;
  let tmp: string;
  let secret: string;
  beforeAll(async () => {
    fx = await nixFixtures();
    tmp = await mkdtemp(join(tmpdir(), 'nar-trust-'));
    secret = await readFile(fx.secretKeyFile, 'utf8');
  });
  afterAll(async () => {
    await removeTree(tmp);
  });

  async function withCache<T>(
    dir: string,
    trustedKeys: string[],
    fn: (client: BinaryCacheClient) => Promise<T>,
    options: Partial<BinaryCacheClientOptions> = {},
  ): Promise<T> {
    const server = await serveCache(dir);
    const client = new BinaryCacheClient({ caches: [{ url: server.url }], trustedKeys, retries: 0, ...options });
    try {
      return await fn(client);
    } finally {
      await client.close();
      await server.close();
    }
  }

  it('rejects a tampered narinfo with FLOXK8S_NARINFO_SIGNATURE_INVALID and fetches nothing', async () => {
    const dir = await copyCache(fx.caches.zstd, join(tmp, 'tampered'));
    const info = await readNarinfo(dir, fx.storePaths.data);
    await writeFile(narinfoFile(dir, fx.storePaths.data), serializeNarinfo({ ...info, references: [fx.storePaths.busybox.slice(11)] }));
    await withCache(dir, [fx.publicKey], async (client) => {
      await expect(client.narinfo(fx.storePaths.data)).rejects.toMatchObject({ code: 'FLOXK8S_NARINFO_SIGNATURE_INVALID' });
    });
  });

  it('rejects a narinfo signed by an unknown key with FLOXK8S_NARINFO_UNTRUSTED', async () => {
    await withCache(fx.caches.zstd, [strangerKey()], async (client) => {
      await expect(client.narinfo(fx.storePaths.data)).rejects.toMatchObject({ code: 'FLOXK8S_NARINFO_UNTRUSTED' });
    });
  });

  it('rejects a NAR whose hash differs from a correctly signed NarHash with FLOXK8S_NAR_HASH_MISMATCH, leaving no dest', async () => {
    const dir = await copyCache(fx.caches.zstd, join(tmp, 'wronghash'));
    const other = await readNarinfo(dir, fx.storePaths.tree);
    await rewriteNarinfo(dir, fx.storePaths.data, (n) => ({ ...n, narHash: other.narHash }), secret);
    for (const wholeNarMaxBytes of [0, 1 << 30]) {
      await withCache(
        dir,
        [fx.publicKey],
        async (client) => {
          const dest = join(tmp, 'wronghash-out');
          await expect(client.fetchNar(await client.narinfo(fx.storePaths.data), dest)).rejects.toMatchObject({ code: 'FLOXK8S_NAR_HASH_MISMATCH' });
          expect(await readdir(tmp)).not.toContain('wronghash-out');
        },
        { wholeNarMaxBytes },
      );
    }
  });

  it('rejects a wrong NarSize, FileSize and FileHash each with their own code, leaving no dest', async () => {
    const cases: Array<[string, (n: Awaited<ReturnType<typeof readNarinfo>>) => typeof n, string]> = [
      ['narsize', (n) => ({ ...n, narSize: n.narSize - 8 }), 'FLOXK8S_NAR_SIZE_MISMATCH'],
      ['bignarsize', (n) => ({ ...n, narSize: n.narSize + 8 }), 'FLOXK8S_NAR_SIZE_MISMATCH'],
      ['filesize', (n) => ({ ...n, fileSize: (n.fileSize ?? 0) + 1 }), 'FLOXK8S_FILE_SIZE_MISMATCH'],
      // Valid form, wrong value (an uncompressed NAR's FileHash equals its NarHash, so not that).
      ['filehash', (n) => ({ ...n, fileHash: `sha256:${'1'.repeat(52)}` }), 'FLOXK8S_FILE_HASH_MISMATCH'],
    ];
    // xz always streams; zstd and none are fetched whole (small NARs) or streamed (wholeNarMaxBytes 0).
    for (const [compression, wholeNarMaxBytes] of [['xz', 0], ['zstd', undefined], ['zstd', 0], ['none', undefined], ['none', 0]] as const) {
      for (const [name, edit, code] of cases) {
        const dir = await copyCache(fx.caches[compression], join(tmp, `${name}-${compression}-${wholeNarMaxBytes}`));
        await rewriteNarinfo(dir, fx.storePaths.busybox, edit, secret);
        await withCache(
          dir,
          [fx.publicKey],
          async (client) => {
            const dest = join(tmp, `${name}-out`);
            await expect(client.fetchNar(await client.narinfo(fx.storePaths.busybox), dest)).rejects.toMatchObject({ code });
            expect(await readdir(tmp)).not.toContain(`${name}-out`);
          },
          wholeNarMaxBytes === undefined ? {} : { wholeNarMaxBytes },
        );
      }
    }
  });

  it('rejects a file shorter than its FileSize with FLOXK8S_FILE_SIZE_MISMATCH, whole or streamed, before the decoder or parser blames the NAR, leaving no dest', async () => {
    for (const compression of ['none', 'xz', 'zstd'] as const) {
      const dir = await copyCache(fx.caches[compression], join(tmp, `short-${compression}`));
      const info = await readNarinfo(dir, fx.storePaths.busybox);
      const file = join(dir, info.url);
      await writeFile(file, (await readFile(file)).subarray(0, Math.floor((info.fileSize ?? 0) * 0.6)));
      for (const wholeNarMaxBytes of [0, 1 << 30]) {
        await withCache(
          dir,
          [fx.publicKey],
          async (client) => {
            const dest = join(tmp, `short-${compression}-out`);
            await expect(client.fetchNar(await client.narinfo(fx.storePaths.busybox), dest)).rejects.toMatchObject({ code: 'FLOXK8S_FILE_SIZE_MISMATCH' });
            expect(await readdir(tmp)).not.toContain(`short-${compression}-out`);
          },
          { wholeNarMaxBytes },
        );
      }
    }
  });

  it('without a FileSize, rejects a truncated NAR with FLOXK8S_NAR_TRUNCATED (a truncated xz/zstd file with FLOXK8S_DECOMPRESS_FAILED), leaving no dest', async () => {
    for (const [compression, code] of [
      ['none', 'FLOXK8S_NAR_TRUNCATED'],
      ['xz', 'FLOXK8S_DECOMPRESS_FAILED'],
      ['zstd', 'FLOXK8S_DECOMPRESS_FAILED'],
    ] as const) {
      const dir = await copyCache(fx.caches[compression], join(tmp, `truncated-${compression}`));
      // FileSize and FileHash are not covered by the signature: dropping them keeps the narinfo valid.
      const info = await rewriteNarinfo(dir, fx.storePaths.busybox, ({ fileSize: _s, fileHash: _h, ...rest }) => rest);
      expect(info.fileSize).toBeUndefined();
      const file = join(dir, info.url);
      const bytes = await readFile(file);
      await writeFile(file, bytes.subarray(0, Math.floor(bytes.length * 0.6)));
      await withCache(dir, [fx.publicKey], async (client) => {
        const dest = join(tmp, `truncated-${compression}-out`);
        await expect(client.fetchNar(await client.narinfo(fx.storePaths.busybox), dest)).rejects.toMatchObject({ code });
        expect(await readdir(tmp)).not.toContain(`truncated-${compression}-out`);
      });
    }
  });

  it('rejects a narinfo that describes another store path', async () => {
    const dir = await copyCache(fx.caches.zstd, join(tmp, 'swapped'));
    await writeFile(narinfoFile(dir, fx.storePaths.data), await readFile(narinfoFile(dir, fx.storePaths.tree)));
    await withCache(dir, [fx.publicKey], async (client) => {
      await expect(client.narinfo(fx.storePaths.data)).rejects.toMatchObject({ code: 'FLOXK8S_NARINFO_INVALID' });
    });
  });
});
