// Fetches the fixture closure from a cache that serves one of its xz NARs corrupted (bytes
// flipped, as a bad mirror or disk would) while the others stream fine, aborting the rest at the
// first failure as a realise does; `rounds` times, victim = index in the closure. For
// xz-corrupt.test.ts: prints the codes seen and exits 0, or dies of an uncaught exception (what
// the in-process xz decoder's Readable.toWeb input adapter did).
import { mkdtempSync, rmSync } from 'node:fs';
import { readFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { nixFixtures, serveCache } from '@flox-k8s/nix-fixtures';
import { BinaryCacheClient } from '../src/index.ts';

const rounds = Number(process.argv[2] ?? 20);
const fx = await nixFixtures();
const cache = await serveCache(fx.caches.xz, {
  onRequest: (req, res) => {
    const path = req.url ?? '';
    // One NAR of the closure is corrupt; the others are fine and still streaming when it fails.
    if (!path.startsWith('/nar/') || path !== corrupt) return false;
    void readFile(join(fx.caches.xz, path)).then((bytes) => {
      const bad = Buffer.from(bytes);
      for (let i = 64; i < bad.length; i += 97) bad[i] = (bad[i] ?? 0) ^ 0xff;
      res.writeHead(200, { 'content-length': bad.length }).end(bad);
    });
    return true;
  },
});
const victim = fx.closure[Number(process.argv[3] ?? 0)] as string;
const corrupt = `/${(await readFile(join(fx.caches.xz, `${victim.slice(11, 43)}.narinfo`), 'utf8')).match(/^URL: (.*)$/m)?.[1]}`;
const out = mkdtempSync(join(tmpdir(), 'nar-xz-corrupt-'));
const codes = new Set<string>();
try {
  for (let round = 0; round < rounds; round++) {
    // The WASM decoder, whose input adapter this guards (NARs above 256 KiB would go to `xz -dc` processes by default).
    const client = new BinaryCacheClient({ caches: [{ url: cache.url }], trustedKeys: [fx.publicKey], retries: 0, decoders: { xz: 'wasm' } });
    // As a realise does: the first failure aborts the fetches still running.
    const abort = new AbortController();
    try {
      await Promise.all(
        fx.closure.map((storePath, i) =>
          client
            .narinfo(storePath)
            .then((found) => client.fetchNar(found, join(out, `${round}-${i}`), { signal: abort.signal }))
            .then(
              () => codes.add('fetched'),
              (error: unknown) => {
                abort.abort(error);
                codes.add((error as { code?: string }).code ?? 'uncoded');
              },
            ),
        ),
      );
    } finally {
      await client.close();
    }
  }
  // A late event of an abandoned input has had its chance to fire.
  await new Promise((r) => setTimeout(r, 200));
} finally {
  await cache.close();
  rmSync(out, { recursive: true, force: true });
}
process.stdout.write(`${[...codes].sort().join(',')}\n`);
