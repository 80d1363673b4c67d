// Resource bounds for hostile NARs, measured in a child process (peak RSS,
// wall time, entries left): 17 kB of xz that unpacks to 200,000 empty files
// must be rejected without holding the tree in memory, and the per-NAR entry
// limit must stop it early.
import { existsSync, mkdtempSync, readdirSync, readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { Readable } from 'node:stream';
import { join } from 'node:path';
import { nixFixtures, serveCache, type NixFixtures, type ServedCache } from '@flox-k8s/nix-fixtures';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { lastJson, runChild } from '../test/child.ts';
import { hashNar } from './nar-unpack.ts';
import { MAX_ENTRIES } from './nar-parse.ts';
import { removeTree } from './remove-tree.ts';
import { NAR_CODEC } from '../test/nar-codec.ts';
import { flatDirectory, writeSignedCache } from '@flox-k8s/hostile-nars';

const fetchChild = join(import.meta.dirname, '..', 'test', 'fetch-child.ts');
const ENTRIES = 200_000;
// Bounds: generous for a loaded 2-core machine, far below what the unbounded cleanup took
// (RSS 144 MB -> 716 MB for this input before; see the README for the measured figures).
const MAX_RSS_MB = 250;
const MAX_SECONDS = 90;

interface Report {
  outcomes: Array<{ code?: string; ms: number }>;
  unhandled: string[];
  maxRssKb: number;
}

describe('hostile NARs are rejected within resource bounds', () => {
  let fx: NixFixtures;
  let server: ServedCache | undefined;
  let tmp: string;
  let work: string;
  let paths: string[];

  beforeAll(async () => {
    tmp = mkdtempSync(join(tmpdir(), 'nar-hostile-res-'));
    // file creation is what this measures: on tmpfs when there is one
    work = mkdtempSync(join(existsSync('/dev/shm') ? '/dev/shm' : tmpdir(), 'nar-hostile-res-'));
    fx = await nixFixtures();
    const nar = flatDirectory(ENTRIES);
    paths = writeSignedCache(
      join(tmp, 'cache'),
      [
        // signed for another archive of the same size: every entry is created before the NarHash check fails
        { name: 'many-files-wrong-hash', nar, compression: 'xz', narHash: `sha256:${'0'.repeat(52)}` },
        { name: 'many-files', nar, compression: 'xz' },
      ],
      readFileSync(fx.secretKeyFile, 'utf8'),
      NAR_CODEC,
    );
    server = await serveCache(join(tmp, 'cache'));
  });
  afterAll(async () => {
    await server?.close();
    await removeTree(tmp);
    await removeTree(work);
  });

  async function fetchInChild(storePath: string, client: object = {}): Promise<Report> {
    const dir = mkdtempSync(join(work, 'run-'));
    const r = await runChild(fetchChild, { caches: [{ url: (server as ServedCache).url }], trustedKeys: [fx.publicKey], storePaths: [storePath], dir, client }, 300_000);
    expect(r.stderr).toBe('');
    expect(r.code).toBe(0);
    const report = lastJson<Report>(r.stdout);
    expect(report.unhandled).toEqual([]);
    // nothing is left of the rejected tree
    for (const d of readdirSync(dir)) expect(readdirSync(join(dir, d))).toEqual([]);
    return report;
  }

  it(`${ENTRIES.toLocaleString('en')} empty files failing their NarHash are removed in bounded memory`, async () => {
    const report = await fetchInChild(paths[0] as string);
    expect(report.outcomes[0]?.code).toBe('FLOXK8S_NAR_HASH_MISMATCH');
    expect(report.maxRssKb / 1024).toBeLessThan(MAX_RSS_MB);
    expect((report.outcomes[0]?.ms ?? Infinity) / 1000).toBeLessThan(MAX_SECONDS);
  }, 300_000);

  it('the per-NAR entry limit stops the same archive after maxEntries, quickly', async () => {
    const report = await fetchInChild(paths[1] as string, { narLimits: { maxEntries: 10_000 } });
    expect(report.outcomes[0]?.code).toBe('FLOXK8S_NAR_LIMIT');
    expect(report.maxRssKb / 1024).toBeLessThan(MAX_RSS_MB);
    expect(report.outcomes[0]?.ms ?? Infinity).toBeLessThan(15_000);
  }, 300_000);

  it('the default entry limit is 500,000 (the root counts)', async () => {
    expect(MAX_ENTRIES).toBe(500_000);
    await expect(hashNar(Readable.from([flatDirectory(500_000)]))).rejects.toMatchObject({ code: 'FLOXK8S_NAR_LIMIT' });
    await expect(hashNar(Readable.from([flatDirectory(499_999)]))).resolves.toMatchObject({ narSize: expect.any(Number) });
  }, 60_000);
});
