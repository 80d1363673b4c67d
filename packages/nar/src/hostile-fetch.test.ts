// The hostile corpus through fetchNar's whole-NAR and streamed paths, for every
// compression a cache may use, from a real loopback cache with signed narinfos.
// Each case ends with its code (or, for legal symlink roots, the symlink itself)
// and leaves nothing on disk. The fetch-worker path is in @flox-k8s/store.
import { mkdtempSync, readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { nixFixtures, serveCache, type NixFixtures, type ServedCache } from '@flox-k8s/nix-fixtures';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { BinaryCacheClient } from './client.ts';
import { fetchesWhole } from './fetch-nar.ts';
import { removeTree } from './remove-tree.ts';
import { NAR_CODEC } from '../test/nar-codec.ts';
import { expectOutcome, fetchCase, fetchCorpus, writeSignedCache, type CacheCompression, type FetchCase } from '@flox-k8s/hostile-nars';

const COMPRESSIONS: CacheCompression[] = ['none', 'xz', 'zstd', 'bzip2'];

describe('the hostile corpus through fetchNar', () => {
  let fx: NixFixtures;
  let tmp: string;
  const servers = new Map<CacheCompression, { server: ServedCache; cases: Array<FetchCase & { storePath: string }> }>();

  beforeAll(async () => {
    fx = await nixFixtures();
    tmp = mkdtempSync(join(tmpdir(), 'nar-hostile-fetch-'));
    const secret = readFileSync(fx.secretKeyFile, 'utf8');
    for (const compression of COMPRESSIONS) {
      const cases = fetchCorpus(compression);
      const paths = writeSignedCache(join(tmp, compression), cases, secret, NAR_CODEC);
      servers.set(compression, { server: await serveCache(join(tmp, compression)), cases: cases.map((c, i) => ({ ...c, storePath: paths[i] as string })) });
    }
  }, 120_000);
  afterAll(async () => {
    for (const { server } of servers.values()) await server.close();
    await removeTree(tmp);
  });

  // xz decodes through liblzma by default; the WASM decoder and an `xz -dc` process are the fallbacks: all three.
  const paths = COMPRESSIONS.flatMap((compression) => [
    ...(compression === 'zstd' || compression === 'none' ? [[compression, 'whole'] as const] : []),
    [compression, 'streamed'] as const,
    ...(compression === 'xz' ? [[compression, 'streamed, xz subprocess'] as const, [compression, 'streamed, xz wasm'] as const] : []),
  ]);

  it.each(paths)('%s, %s: every case ends with its code and leaves nothing', async (compression, path) => {
    const { server, cases } = servers.get(compression) as { server: ServedCache; cases: Array<FetchCase & { storePath: string }> };
    const out = mkdtempSync(join(tmp, `${compression}-${path}-`));
    let wholeSeen = 0;
    for (const c of cases) {
      const client = new BinaryCacheClient({
        caches: [{ url: server.url }],
        trustedKeys: [fx.publicKey],
        retries: 0,
        wholeNarMaxBytes: path === 'whole' ? 64 << 20 : 0,
        ...(path === 'streamed, xz subprocess' ? { decoders: { xz: 'subprocess' as const } } : path === 'streamed, xz wasm' ? { decoders: { xz: 'wasm' as const } } : {}),
        ...(c.narLimits ? { narLimits: c.narLimits } : {}),
      });
      try {
        const { outcome, box } = await fetchCase(client, c.storePath, out);
        expectOutcome(c, outcome, box);
        if (path === 'whole' && fetchesWhole((await client.narinfo(c.storePath)).narinfo, 64 << 20)) wholeSeen++;
      } finally {
        await client.close();
      }
    }
    if (path === 'whole') expect(wholeSeen).toBe(cases.length); // the whole-NAR path really took every case
  }, 120_000);
});
