// The CPU floor of a cold realise on this machine, measured with the fastest C tools,
// beside `nix copy`'s wall time in the same run: is "ours <= 0.67x Nix's wall time"
// reachable at all here, by any implementation?
//
// Every realise of the bench closure must at least: receive the compressed NARs over
// loopback HTTP (and the cache server must send them), decompress them, SHA-256 the
// compressed files (FileHash) and the NARs (NarHash), and create every file. Each
// component is timed alone, in CPU seconds (user + sys, children's rusage from bash's
// `times`), with the cheapest tool we have: curl (one process, one connection),
// xz / zstd, `openssl dgst -sha256` (SHA-NI), and `tar -x` of the unpacked tree (one
// process creating every file). The server is the bench's own out-of-process cache
// server; its CPU comes from /proc. On N cores no implementation can finish faster than
// (sum of components) / N.
//   node --conditions=@flox-k8s/source bench/cpu-floor.ts [runs=3] [dir=/tmp]
import { execFileSync, spawnSync } from 'node:child_process';
import { mkdirSync, mkdtempSync, readdirSync, rmSync } from 'node:fs';
import { availableParallelism, loadavg } from 'node:os';
import { join } from 'node:path';
import { nixBenchFixtures, nixShellCommand } from '@flox-k8s/nix-fixtures';
import { median } from './synthetic.ts';
import { childrenCpu, processCpu } from './proc-cpu.ts';
import { nixCopy, serveOutOfProcess } from './serve-out-of-process.ts';

const RUNS = Number(process.argv[2] ?? 3);
const parent = process.argv[3] ?? '/tmp';
const TARGET = 0.67;
const cores = availableParallelism();

/** CPU seconds (user + sys) of the children of `bash -c script`. */
function childCpu(script: string): number {
  const out = execFileSync('bash', ['-c', `${script} >/dev/null 2>&1; times`], { encoding: 'utf8', maxBuffer: 1 << 20 });
  // `times` prints the shell's own line, then its children's: "0m1.234s 0m0.567s".
  const line = out.trim().split('\n').at(-1) ?? '';
  const secs = [...line.matchAll(/(\d+)m([\d.]+)s/g)].map((m) => Number(m[1]) * 60 + Number(m[2]));
  if (secs.length !== 2) throw new Error(`cannot read bash times output: ${JSON.stringify(out)}`);
  return (secs[0] ?? 0) + (secs[1] ?? 0);
}

const q = (s: string): string => `'${s.replaceAll("'", `'\\''`)}'`;
const curl = spawnSync('curl', ['--version']).status === 0;
const bf = await nixBenchFixtures();
const work = mkdtempSync(join(parent, 'flox-bench-floor-'));
console.log(`closure: ${bf.closure.length} paths, ${(bf.narSize / 1e6).toFixed(0)} MB of NAR; ${cores} cores; load ${loadavg().map((x) => x.toFixed(2)).join(' ')}`);
try {
  for (const compression of ['xz', 'zstd'] as const) {
    const cacheDir = bf.caches[compression];
    const narDir = join(cacheDir, 'nar');
    const files = readdirSync(narDir).map((f) => join(narDir, f));
    const decoder = compression === 'xz' ? 'xz -dc' : 'zstd -dcq';
    // Set-up (untimed): the decompressed NARs, and the unpacked tree as one tar.
    const nars = join(work, `${compression}-nars`);
    const tree = join(work, `${compression}-tree`);
    mkdirSync(nars);
    mkdirSync(tree);
    for (const [i, f] of files.entries()) {
      execFileSync('bash', ['-c', `${decoder} ${q(f)} > ${q(join(nars, String(i)))} && ${nixShellCommand('nix-store', ['--restore', join(tree, String(i))])} < ${q(join(nars, String(i)))}`]);
    }
    const tar = join(work, `${compression}.tar`);
    execFileSync('tar', ['-C', tree, '-cf', tar, '.']);

    const cache = await serveOutOfProcess(cacheDir);
    const rows: Record<string, number[]> = { receive: [], serve: [], decompress: [], fileHash: [], narHash: [], create: [], floor: [], nixWall: [], nixCpu: [] };
    try {
      for (let run = 0; run < RUNS; run++) {
        const urls = files.map((f) => `${cache.url}/nar/${f.slice(narDir.length + 1)}`);
        const before = processCpu(cache.pid);
        // curl: one process, one keep-alive connection for every NAR; without curl, receiving counts 0 (the floor only gets lower).
        const receive = curl ? childCpu(`curl -s ${urls.map((u) => `-o /dev/null ${q(u)}`).join(' ')}`) : 0;
        const serve = processCpu(cache.pid) - before;
        const decompress = childCpu(`for f in ${files.map(q).join(' ')}; do ${decoder} "$f"; done`);
        const fileHash = childCpu(`openssl dgst -sha256 ${files.map(q).join(' ')}`);
        const narHash = childCpu(`openssl dgst -sha256 ${q(nars)}/*`);
        const dest = join(work, `${compression}-create-${run}`);
        mkdirSync(dest);
        const create = childCpu(`tar --no-same-owner -C ${q(dest)} -xf ${q(tar)}`);
        const to = join(work, `${compression}-nix-${run}`);
        const xdg = join(work, `${compression}-xdg-${run}`);
        mkdirSync(xdg);
        const t0 = performance.now();
        const nixCpu = await nixCopyCpu(() => nixCopy(cache.url, to, bf.publicKey, bf.roots, xdg));
        rows.nixWall!.push((performance.now() - t0) / 1000);
        rows.nixCpu!.push(nixCpu);
        Object.entries({ receive, serve, decompress, fileHash, narHash, create }).forEach(([k, v]) => rows[k]!.push(v));
        rows.floor!.push(receive + serve + decompress + fileHash + narHash + create);
      }
    } finally {
      await cache.close();
    }
    const m = Object.fromEntries(Object.entries(rows).map(([k, v]) => [k, median(v)])) as Record<string, number>;
    const fmt = (k: string): string => `${k} ${m[k]!.toFixed(2)} s`;
    console.log(`${compression}: CPU floor, medians of ${RUNS}: ${['receive', 'serve', 'decompress', 'fileHash', 'narHash', 'create'].map(fmt).join(', ')}${curl ? '' : ' (no curl: receive not counted)'}`);
    const wallFloor = m.floor! / cores;
    const target = TARGET * m.nixWall!;
    console.log(`${compression}: sum ${m.floor!.toFixed(2)} CPU s -> wall floor on ${cores} cores ${wallFloor.toFixed(2)} s`);
    console.log(`${compression}: nix copy median wall ${m.nixWall!.toFixed(2)} s (its own CPU ${m.nixCpu!.toFixed(2)} s); target ${TARGET} x = ${target.toFixed(2)} s`);
    console.log(`${compression}: floor / nix wall = ${(wallFloor / m.nixWall!).toFixed(2)} ${wallFloor > target ? '(the target is below the floor: unreachable here)' : '(the target is above the floor)'}`);
  }
  console.log(`load at end ${loadavg().map((x) => x.toFixed(2)).join(' ')}`);
} finally {
  rmSync(work, { recursive: true, force: true });
}

/** Runs `copy` and returns the CPU seconds its `nix` child used (children rusage of this process, before/after). */
async function nixCopyCpu(copy: () => Promise<void>): Promise<number> {
  const before = childrenCpu();
  await copy();
  return childrenCpu() - before;
}
