import { mkdirSync, mkdtempSync, readdirSync, readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { nixFixtures, serveCache, type NixFixtures, type ServedCache } from '@flox-k8s/nix-fixtures';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { lastJson, runChild } from '../test/child.ts';
import { removeTree } from './remove-tree.ts';
import { NAR_CODEC } from '../test/nar-codec.ts';
import { narOf, writeSignedCache } from '@flox-k8s/hostile-nars';

const fetchChild = join(import.meta.dirname, '..', 'test', 'fetch-child.ts');

// Valid in Nix (br, gzip, lz4, lzip, …) or just odd. Compression is not covered by the
// signature, so anyone between the cache and us can set it on a correctly signed narinfo.
const ODD = ['br', 'gzip', 'lz4', 'lzip', 'XZ', 'xz ', 'zstd\t'];

describe('a narinfo with a compression we cannot decode', () => {
  let fx: NixFixtures;
  let tmp: string;
  let server: ServedCache | undefined;
  let paths: string[];
  beforeAll(async () => {
    fx = await nixFixtures();
    tmp = mkdtempSync(join(tmpdir(), 'nar-compression-'));
    const nar = narOf({ type: 'regular', contents: 'hello' });
    paths = writeSignedCache(
      join(tmp, 'cache'),
      ODD.map((compressionField, i) => ({ name: `odd-${i}`, nar, compression: 'zstd' as const, compressionField })),
      readFileSync(fx.secretKeyFile, 'utf8'),
      NAR_CODEC,
    );
    server = await serveCache(join(tmp, 'cache'));
  });
  afterAll(async () => {
    await server?.close();
    await removeTree(tmp);
  });

  it.each([
    ['streamed', 0],
    ['whole (if it applied)', 1 << 30],
  ])('is rejected with FLOXK8S_COMPRESSION_UNSUPPORTED before any download (%s); nothing is left unhandled', async (name, wholeNarMaxBytes) => {
    const out = join(tmp, `out-${wholeNarMaxBytes}`);
    mkdirSync(out);
    // In a child process watching for uncaught exceptions and unhandled rejections: an
    // abandoned response body's late 'error' used to end the process.
    const url = (server as ServedCache).url;
    const r = await runChild(fetchChild, { caches: [{ url }], trustedKeys: [fx.publicKey], storePaths: paths, dir: out, client: { wholeNarMaxBytes } });
    expect(r.stderr).toBe('');
    expect(r.code).toBe(0);
    const report = lastJson<{ outcomes: Array<{ code?: string }>; unhandled: string[] }>(r.stdout);
    expect(report.unhandled, name).toEqual([]);
    expect(report.outcomes.map((o) => o.code)).toEqual(ODD.map(() => 'FLOXK8S_COMPRESSION_UNSUPPORTED'));
    expect((server as ServedCache).count('/nar/')).toBe(0); // refused before a body existed
    for (const d of readdirSync(out)) expect(readdirSync(join(out, d))).toEqual([]); // no destination was created
  }, 60_000);
});
