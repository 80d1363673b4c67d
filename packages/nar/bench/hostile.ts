// Peak RSS and time of a client rejecting hostile NARs: the corpus of test/hostile-corpus.ts
// through each fetch path and compression, and 200,000 empty files (17 kB of xz) that fail
// their NarHash. Each path runs in a child process (test/fetch-child.ts) whose getrusage maxRSS
// is the figure; the cache server runs here.
//   node --conditions=@flox-k8s/source bench/hostile.ts [--work DIR (default /dev/shm, else tmpdir)]
import { generateKeyPairSync } from 'node:crypto';
import { existsSync, mkdirSync, mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { serveCache } from '@flox-k8s/nix-fixtures';
import { removeTree } from '../src/remove-tree.ts';
import { publicKeyOf, type SecretKey } from '../src/signatures.ts';
import { lastJson, runChild } from '../test/child.ts';
import { loadAverage, option } from './lib.ts';
import { NAR_CODEC } from '../test/nar-codec.ts';
import { fetchCorpus, flatDirectory, writeSignedCache, type CacheCompression } from '@flox-k8s/hostile-nars';

const work = mkdtempSync(join(option('work', existsSync('/dev/shm') ? '/dev/shm' : tmpdir()), 'nar-bench-hostile-'));
const secret: SecretKey = { name: 'bench-hostile-1', key: generateKeyPairSync('ed25519').privateKey };
const trustedKeys = [publicKeyOf(secret)];
const fetchChild = join(import.meta.dirname, '..', 'test', 'fetch-child.ts');
const compressions: CacheCompression[] = ['none', 'xz', 'zstd', 'bzip2'];

interface Report {
  outcomes: Array<{ code?: string; ms: number }>;
  unhandled: string[];
  maxRssKb: number;
}

async function measure(url: string, storePaths: string[], client: object): Promise<Report> {
  const dir = mkdtempSync(join(work, 'out-'));
  const r = await runChild(fetchChild, { caches: [{ url }], trustedKeys, storePaths, dir, client }, 600_000);
  if (r.code !== 0) throw new Error(`fetch child failed: ${r.stderr}`);
  await removeTree(dir);
  return lastJson<Report>(r.stdout);
}

try {
  console.log(`load ${loadAverage()}; work ${work}`);
  console.log('| compression | path | cases | peak RSS MB | slowest case ms | all cases ms | unhandled |');
  console.log('|---|---|---|---|---|---|---|');
  for (const compression of compressions) {
    // cases fetched with the client's default limits (the others need their own client)
    const cases = fetchCorpus(compression).filter((c) => c.narLimits === undefined);
    mkdirSync(join(work, compression));
    const paths = writeSignedCache(join(work, compression), cases, secret, NAR_CODEC);
    const server = await serveCache(join(work, compression));
    try {
      const variants: Array<[string, object]> = [
        ...(compression === 'zstd' || compression === 'none' ? [['whole', { wholeNarMaxBytes: 64 << 20 }] as [string, object]] : []),
        ['streamed', { wholeNarMaxBytes: 0 }],
        ...(compression === 'xz' ? [['streamed, xz child', { wholeNarMaxBytes: 0, decoders: { xz: 'subprocess' } }] as [string, object]] : []),
      ];
      for (const [path, client] of variants) {
        const r = await measure(server.url, paths, client);
        const ms = r.outcomes.map((o) => o.ms);
        console.log(`| ${compression} | ${path} | ${cases.length} | ${(r.maxRssKb / 1024).toFixed(0)} | ${Math.max(...ms).toFixed(0)} | ${ms.reduce((a, b) => a + b, 0).toFixed(0)} | ${r.unhandled.length} |`);
      }
    } finally {
      await server.close();
    }
  }
  mkdirSync(join(work, 'many'));
  const [wrongHash] = writeSignedCache(join(work, 'many'), [{ name: 'many-files-wrong-hash', nar: flatDirectory(200_000), compression: 'xz', narHash: `sha256:${'0'.repeat(52)}` }], secret, NAR_CODEC);
  const server = await serveCache(join(work, 'many'));
  try {
    for (const [what, client] of [
      ['200,000 empty files, wrong NarHash', {}],
      ['the same, maxEntries 10,000', { narLimits: { maxEntries: 10_000 } }],
    ] as const) {
      const r = await measure(server.url, [wrongHash as string], client);
      console.log(`${what}: ${r.outcomes[0]?.code}, peak RSS ${(r.maxRssKb / 1024).toFixed(0)} MB, ${((r.outcomes[0]?.ms ?? 0) / 1000).toFixed(1)} s`);
    }
  } finally {
    await server.close();
  }
} finally {
  await removeTree(work);
}
