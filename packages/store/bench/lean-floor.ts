// How fast can a cold realise of the bench closure be in Node at all? A deliberately minimal
// pipeline, measured beside `nix copy` in the same run (interleaved), answers whether the store's
// target (<= 0.67x Nix's wall time) is within reach of this runtime on this machine.
//
// It does only what any client must do, each step the cheapest way Node offers, and skips what the
// store must do on top:
//   - narinfos: BinaryCacheClient.closure (HTTP, parse, ed25519), as the store does;
//   - each NAR: one GET into one buffer (no FileHash: Nix does not check it either);
//   - decode in one call on libuv's thread pool (zlib zstd; xz: an `xz -dc` child per NAR);
//   - NarHash with WebCrypto's digest (also on the thread pool), while the main thread
//     walks the NAR and creates every file with synchronous calls;
//   - no worker threads, locks, metadata records, renames, fsync, progress or abort handling.
// It validates nothing but the hash (a bench, not a parser: it trusts the fixture's NARs).
//   node --conditions=@flox-k8s/source bench/lean-floor.ts [runs=3] [dir=/tmp] [xz|zstd ...]
import { spawn } from 'node:child_process';
import { closeSync, fchmodSync, mkdirSync, mkdtempSync, openSync, renameSync, rmSync, symlinkSync, writeSync } from 'node:fs';
import { loadavg } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { zstdDecompress } from 'node:zlib';
import { BinaryCacheClient, formatSha256, type FoundNarinfo } from '@flox-k8s/nar';
import { nixBenchFixtures } from '@flox-k8s/nix-fixtures';
import { Agent, request } from 'undici';
import { median } from './synthetic.ts';
import { nixCopy, serveOutOfProcess } from './serve-out-of-process.ts';

const RUNS = Number(process.argv[2] ?? 3);
const parent = process.argv[3] ?? '/tmp';
const only = process.argv.slice(4);
const TARGET = 0.67;
const zstd = promisify(zstdDecompress);

/** `xz -dc` of one buffer in a child process. */
function xz(input: Buffer, size: number): Promise<Buffer> {
  return new Promise((resolve, reject) => {
    const child = spawn('xz', ['-dc'], { stdio: ['pipe', 'pipe', 'ignore'] });
    const out = Buffer.allocUnsafe(size);
    let at = 0;
    child.stdout.on('data', (d: Buffer) => {
      d.copy(out, at);
      at += d.length;
    });
    child.on('error', reject);
    child.on('close', (code) => (code === 0 && at === size ? resolve(out) : reject(new Error(`xz exited ${code} with ${at} of ${size} bytes`))));
    child.stdin.end(input);
  });
}

/** Creates the tree of one NAR held in `nar` at `dest` (trusting its structure). */
function writeNar(nar: Buffer, dest: string): void {
  let at = 0;
  const u64 = (): number => {
    const n = Number(nar.readBigUInt64LE(at));
    at += 8;
    return n;
  };
  const str = (): Buffer => {
    const n = u64();
    const s = nar.subarray(at, at + n);
    at += n + ((8 - (n % 8)) % 8);
    return s;
  };
  const tag = (): string => str().toString('latin1');
  const node = (path: string): void => {
    tag(); // (
    tag(); // type
    const type = tag();
    if (type === 'regular') {
      let t = tag();
      let exec = false;
      if (t === 'executable') {
        str();
        exec = true;
        t = tag();
      }
      const size = u64();
      const fd = openSync(path, 'wx', 0o644);
      for (let off = 0; off < size; ) off += writeSync(fd, nar, at + off, size - off);
      fchmodSync(fd, exec ? 0o555 : 0o444);
      closeSync(fd);
      at += size + ((8 - (size % 8)) % 8);
      tag(); // )
    } else if (type === 'symlink') {
      tag(); // target
      symlinkSync(str(), path);
      tag(); // )
    } else {
      mkdirSync(path);
      for (let t = tag(); t === 'entry'; t = tag()) {
        tag(); // (
        tag(); // name
        const name = str().toString('utf8');
        tag(); // node
        node(`${path}/${name}`);
        tag(); // )
      }
    }
  };
  tag(); // nix-archive-1
  node(dest);
}

/** 16 NARs in flight, as the store's default concurrency. */
async function leanRealise(found: Map<string, FoundNarinfo>, base: string, dest: string, agent: Agent): Promise<void> {
  const queue = [...found.values()];
  await Promise.all(
    Array.from({ length: 16 }, async () => {
      for (let next = queue.shift(); next !== undefined; next = queue.shift()) await leanFetch(next, base, dest, agent);
    }),
  );
}

async function leanFetch({ narinfo }: FoundNarinfo, base: string, dest: string, agent: Agent): Promise<void> {
  const res = await request(new URL(narinfo.url, `${base}/`).href, { dispatcher: agent });
  const file = Buffer.allocUnsafe(narinfo.fileSize ?? 0);
  let at = 0;
  for await (const chunk of res.body as AsyncIterable<Buffer>) {
    chunk.copy(file, at);
    at += chunk.length;
  }
  const nar = narinfo.compression === 'zstd' ? await zstd(file, { chunkSize: narinfo.narSize + 1 }) : await xz(file, narinfo.narSize);
  const hashed = crypto.subtle.digest('SHA-256', nar);
  writeNar(nar, join(dest, narinfo.storePath.slice('/nix/store/'.length)));
  const narHash = formatSha256(Buffer.from(await hashed));
  if (narHash !== narinfo.narHash) throw new Error(`${narinfo.storePath}: NarHash ${narHash}, expected ${narinfo.narHash}`);
}

const bf = await nixBenchFixtures();
const work = mkdtempSync(join(parent, 'flox-bench-lean-'));
mkdirSync(join(work, 'trash'));
let trashed = 0;
const trash = (dir: string): void => renameSync(dir, join(work, 'trash', String(trashed++)));
const load = (): string => loadavg().map((x) => x.toFixed(2)).join(' ');
console.log(`closure: ${bf.closure.length} paths, ${(bf.narSize / 1e6).toFixed(0)} MB of NAR; stores under ${parent}; load ${load()}`);
try {
  for (const compression of ['xz', 'zstd'] as const) {
    if (only.length > 0 && !only.includes(compression)) continue;
    const cache = await serveOutOfProcess(bf.caches[compression]);
    const lean: number[] = [];
    const leanCpu: number[] = [];
    const nix: number[] = [];
    try {
      for (let run = 0; run < RUNS; run++) {
        for (const side of run % 2 === 0 ? ['lean', 'nix'] : ['nix', 'lean']) {
          const dir = join(work, `${side}-${compression}-${run}`);
          mkdirSync(dir);
          const t0 = performance.now();
          if (side === 'nix') {
            const xdg = join(work, `xdg-${compression}-${run}`);
            mkdirSync(xdg);
            await nixCopy(cache.url, join(dir, 'store'), bf.publicKey, bf.roots, xdg);
            nix.push(performance.now() - t0);
          } else {
            const c0 = process.cpuUsage();
            const agent = new Agent({ connections: 16 });
            const client = new BinaryCacheClient({ caches: [{ url: cache.url }], trustedKeys: [bf.publicKey] });
            const found = await client.closure(bf.roots);
            await leanRealise(found, cache.url, dir, agent);
            lean.push(performance.now() - t0);
            const c = process.cpuUsage(c0);
            leanCpu.push((c.user + c.system) / 1e6);
            await Promise.all([client.close(), agent.close()]);
          }
          trash(dir);
        }
      }
    } finally {
      await cache.close();
    }
    const fmt = (xs: number[]): string => xs.map((x) => (x / 1000).toFixed(2)).join(', ');
    const [l, n] = [median(lean), median(nix)];
    console.log(`${compression}: lean Node pipeline median ${(l / 1000).toFixed(2)} s [${fmt(lean)}], its CPU (excluding xz children) ${median(leanCpu).toFixed(2)} s`);
    console.log(`${compression}: nix copy median ${(n / 1000).toFixed(2)} s [${fmt(nix)}]; load ${load()}`);
    console.log(`${compression}: lean / nix = ${(l / n).toFixed(2)} (target for the store: <= ${TARGET})`);
  }
} finally {
  rmSync(work, { recursive: true, force: true });
}
