import { mkdtemp } from 'node:fs/promises';
import { readdirSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { nixFixtures, serveCache, type NixFixtures } from '@flox-k8s/nix-fixtures';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { copyCache, rewriteNarinfo } from '../test/cache-kit.ts';
import { lastJson, runChild } from '../test/child.ts';
import { removeTree } from './remove-tree.ts';

const fetchChild = join(import.meta.dirname, '..', 'test', 'fetch-child.ts');

// Valid in Nix (br, gzip, lz4, lzip, …) or just odd; Compression is not covered by the signature.
const ODD = ['br', 'gzip', 'lz4', 'lzip', 'XZ', 'xz ', 'zstd\t'];

describe('a narinfo with a compression we cannot decode', () => {
  let fx: NixFixtures;
  let tmp: string;
  beforeAll(async () => {
    fx = await nixFixtures();
    tmp = await mkdtemp(join(tmpdir(), 'nar-compression-'));
  });
  afterAll(async () => {
    await removeTree(tmp);
  });

  it.each([
    ['streamed', 0],
    ['whole (if it applied)', 1 << 30],
  ])('is rejected with FLOXK8S_COMPRESSION_UNSUPPORTED before any download (%s), and nothing is left unhandled', async (_name, wholeNarMaxBytes) => {
    const outcomes: Array<{ compression: string; code?: string }> = [];
    for (const compression of ODD) {
      const dir = await copyCache(fx.caches.zstd, join(tmp, `cache-${wholeNarMaxBytes}-${ODD.indexOf(compression)}`));
      await rewriteNarinfo(dir, fx.storePaths.data, (n) => ({ ...n, compression })); // unsigned field: no re-signing needed
      const server = await serveCache(dir);
      const out = join(tmp, `out-${wholeNarMaxBytes}-${ODD.indexOf(compression)}`);
      await removeTree(out);
      await import('node:fs/promises').then((fs) => fs.mkdir(out));
      try {
        const r = await runChild(fetchChild, {
          caches: [{ url: server.url }],
          trustedKeys: [fx.publicKey],
          storePaths: [fx.storePaths.data],
          dir: out,
          client: { wholeNarMaxBytes },
        });
        expect(r.stderr).toBe('');
        expect(r.code).toBe(0);
        const report = lastJson<{ outcomes: Array<{ code?: string }>; unhandled: string[] }>(r.stdout);
        expect(report.unhandled).toEqual([]);
        outcomes.push({ compression, code: report.outcomes[0]?.code });
        expect(server.count('/nar/')).toBe(0); // refused before a body existed
        // the destination was never created
        for (const d of readdirSync(out)) expect(readdirSync(join(out, d))).toEqual([]);
      } finally {
        await server.close();
      }
    }
    expect(outcomes).toEqual(ODD.map((compression) => ({ compression, code: 'FLOXK8S_COMPRESSION_UNSUPPORTED' })));
  }, 120_000);
});
