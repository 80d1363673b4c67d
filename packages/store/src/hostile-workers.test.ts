// The hostile NAR corpus of @flox-k8s/nar through the store's fetch workers (the
// third fetch path): every case's code crosses the thread boundary and nothing is
// left on disk. A symlink root, legal in Nix, is recorded as one.
import { lstatSync, mkdtempSync, readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { BinaryCacheClient, formatSha256, nix32Encode, serializeNarinfo, signNarinfo } from '@flox-k8s/nar';
import { nixFixtures, serveCache, type NixFixtures, type ServedCache } from '@flox-k8s/nix-fixtures';
import { FetchPool } from './fetch-pool.ts';
import { STORE_DECODERS } from './fetch-protocol.ts';
import { Store } from './store.ts';
// The corpus lives with the NAR codec it attacks; these are test files of the sibling package.
import { cleanup, heldLocks, tempDir } from '../test/helpers.ts';
import { expectOutcome, fetchCorpus, writeSignedCache, type CacheCompression, type FetchCase } from '@flox-k8s/hostile-nars';

const COMPRESSIONS: CacheCompression[] = ['none', 'xz', 'zstd', 'bzip2'];

const NAR_EXPORTS = { formatSha256, nix32Encode, serializeNarinfo, signNarinfo };

describe('the hostile corpus through the fetch workers', () => {
  let fx: NixFixtures;
  let tmp: string;
  const caches = new Map<CacheCompression, { server: ServedCache; cases: Array<FetchCase & { storePath: string }> }>();

  beforeAll(async () => {
    fx = await nixFixtures();
    tmp = tempDir('flox-store-hostile-');
    const secret = readFileSync(fx.secretKeyFile, 'utf8');
    for (const compression of COMPRESSIONS) {
      // Parser limits are not a store option: cases that need other limits stay with @flox-k8s/nar.
      const cases = fetchCorpus(compression).filter((c) => c.narLimits === undefined);
      const paths = writeSignedCache(join(tmp, compression), cases, secret, NAR_EXPORTS);
      caches.set(compression, { server: await serveCache(join(tmp, compression)), cases: cases.map((c, i) => ({ ...c, storePath: paths[i] as string })) });
    }
  }, 120_000);
  afterAll(async () => {
    for (const { server } of caches.values()) await server.close();
    cleanup(tmp);
  });

  it.each(COMPRESSIONS)('%s: every case ends with its code across the thread boundary and leaves nothing', async (compression) => {
    const { server, cases } = caches.get(compression) as { server: ServedCache; cases: Array<FetchCase & { storePath: string }> };
    const config = { caches: [{ url: server.url }], trustedKeys: [fx.publicKey], storeDir: '/nix/store', concurrency: 4, decoders: STORE_DECODERS };
    const pool = new FetchPool(config, 1);
    const lookup = new BinaryCacheClient({ caches: config.caches, trustedKeys: config.trustedKeys });
    const out = mkdtempSync(join(tmp, `${compression}-workers-`));
    try {
      for (const c of cases) {
        const box = mkdtempSync(join(out, 'case-'));
        const outcome = await pool.fetchNar(await lookup.narinfo(c.storePath), join(box, 'out'), new AbortController().signal, () => undefined).catch((e: unknown) => e);
        expect((outcome as Error).message ?? '', c.title).not.toMatch(/worker stopped/);
        expectOutcome(c, outcome, box);
      }
    } finally {
      await pool.close();
      await lookup.close();
    }
  }, 120_000);

  it('a realise of a hostile path fails with its code and leaves the store clean; a symlink root is valid and recorded as one', async () => {
    const { server, cases } = caches.get('xz') as { server: ServedCache; cases: Array<FetchCase & { storePath: string }> };
    const root = tempDir();
    try {
      const store = await Store.open(root);
      const options = { caches: [{ url: server.url }], trustedKeys: [fx.publicKey], fetchWorkers: 1 };
      const bad = cases.find((c) => c.title === 'traversal name "../escape"') as FetchCase & { storePath: string };
      await expect(store.realise([bad.storePath], options)).rejects.toMatchObject({ code: 'FLOXK8S_NAR_BAD_NAME' });
      expect(readdirSync(join(root, 'store'))).toEqual([]);
      expect(readdirSync(join(root, 'tmp'))).toEqual([]);
      expect(heldLocks(root)).toEqual([]);
      for (const name of ['symlink-root-abs', 'symlink-root-store']) {
        const link = cases.find((c) => c.name === name) as FetchCase & { storePath: string };
        expect((await store.realise([link.storePath], options)).fetched).toEqual([link.storePath]);
        expect(store.pathInfo(link.storePath)).toMatchObject({ rootType: 'symlink' });
        expect(lstatSync(store.hostPath(link.storePath)).isSymbolicLink()).toBe(true);
        // valid from now on: presence is lstat, so what the link points at on the host never matters
        expect((await store.realise([link.storePath], options)).fetched, name).toEqual([]);
      }
      expect((await (await Store.open(root)).verify()).ok).toBe(true);
    } finally {
      cleanup(root);
    }
  }, 60_000);
});
