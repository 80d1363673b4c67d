// Peak RSS of a client process that fetches and unpacks a >= 1 GB NAR over loopback HTTP + zstd.
//   node bench/rss.ts [--mb 1100] [--work DIR] [--data DIR (keep generated data there)] [--dist (measure the built JS; run pnpm build first)] [--low-memory] [--zstd-chunk BYTES] [--read-ahead BYTES]
// Run with MALLOC_ARENA_MAX=2 in the environment to see glibc's per-thread arenas' share.
// The server runs in this process; the client runs in a child (bench/rss-client.ts) whose
// getrusage maxRSS is the figure.
import { execFile, execFileSync } from 'node:child_process';
import { createHash, generateKeyPairSync } from 'node:crypto';
import { createReadStream, existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { hashNar } from '../src/nar-unpack.ts';
import { serializeNarinfo, type Narinfo } from '../src/narinfo.ts';
import { formatSha256 } from '../src/hash.ts';
import { publicKeyOf, signNarinfo } from '../src/signatures.ts';
import { removeTree } from '../src/remove-tree.ts';
import { flag, loadAverage, makeTree, mb, nixDumpTo, option, sh } from './lib.ts';

// --data DIR keeps the generated cache in DIR between runs (and does not delete it).
const keep = option('data', '');
const work = keep === '' ? mkdtempSync(join(option('work', tmpdir()), 'nar-bench-rss-')) : keep;
const server = createServer((req, res) => {
  const file = join(work, 'cache', (req.url ?? '/').slice(1));
  let size: number;
  try {
    size = statSync(file).size;
  } catch {
    res.writeHead(404).end();
    return;
  }
  res.writeHead(200, { 'content-length': String(size) });
  createReadStream(file).pipe(res);
});
try {
  if (!existsSync(join(work, 'cache', 'nix-cache-info'))) await generate();
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const url = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  const { storePath, publicKey, narSize, fileSize } = JSON.parse(readFileSync(join(work, 'meta.json'), 'utf8')) as Record<string, string>;
  console.log(`NAR ${mb(Number(narSize))}, zstd file ${mb(Number(fileSize))} (load ${loadAverage()})`);
  const dest = join(work, 'out');
  const child = await new Promise<string>((resolve, reject) => {
    // Run the client asynchronously: this process must keep serving.
    const flags = ['--dist', '--low-memory'].filter((f) => process.argv.includes(f));
    for (const f of ['--zstd-chunk', '--read-ahead']) if (process.argv.includes(f)) flags.push(f, option(f.slice(2), ''));
    const args = [join(import.meta.dirname, 'rss-client.ts'), url, storePath!, publicKey!, dest, ...flags];
    execFile(process.execPath, args, (err, stdout, stderr) =>
      err ? reject(new Error(`${err.message}\n${stderr}`)) : resolve(stdout),
    );
  });
  process.stdout.write(child);
  const idle = execFileSync(process.execPath, ['-e', 'console.log((process.resourceUsage().maxRSS / 1024).toFixed(0))'], { encoding: 'utf8' }).trim();
  console.log(`for reference, an empty node process peaks at ${idle} MB RSS; target: peak RSS <= 150 MB; load ${loadAverage()}`);
  await removeTree(dest);
} finally {
  server.close();
  if (keep === '') rmSync(work, { recursive: true, force: true });
}

async function generate(): Promise<void> {
  const tree = join(work, 'tree');
  makeTree(tree, flag('mb', 1100) * 1e6);
  const nar = join(work, 'big.nar');
  nixDumpTo(tree, nar);
  rmSync(tree, { recursive: true, force: true });
  mkdirSync(join(work, 'cache', 'nar'), { recursive: true });
  const zst = join(work, 'cache', 'nar', 'big.nar.zst');
  sh(`zstd -q -3 -T0 -c '${nar}' > '${zst}'`);
  const digest = await hashNar(createReadStream(nar));
  rmSync(nar);
  const fileHash = createHash('sha256');
  for await (const chunk of createReadStream(zst)) fileHash.update(chunk as Buffer);
  const { privateKey } = generateKeyPairSync('ed25519');
  const secret = { name: 'bench-1', key: privateKey };
  const storePath = '/nix/store/00000000000000000000000000000000-bench-big';
  const narinfo: Narinfo = signNarinfo(
    {
      storePath,
      url: 'nar/big.nar.zst',
      compression: 'zstd',
      fileHash: formatSha256(fileHash.digest()),
      fileSize: statSync(zst).size,
      narHash: digest.narHash,
      narSize: digest.narSize,
      references: [],
      sigs: [],
    },
    secret,
  );
  writeFileSync(join(work, 'cache', '00000000000000000000000000000000.narinfo'), serializeNarinfo(narinfo));
  writeFileSync(join(work, 'cache', 'nix-cache-info'), 'StoreDir: /nix/store\n');
  writeFileSync(join(work, 'meta.json'), JSON.stringify({ storePath, publicKey: publicKeyOf(secret), narSize: digest.narSize, fileSize: narinfo.fileSize }));
}
