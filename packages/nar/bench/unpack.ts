// Unpack throughput from local compressed NARs, against the CLI tools on the same files.
//   node --conditions=@flox-k8s/source bench/unpack.ts [--runs 5] [--only xz|zstd] [--mb 600] [--xz-mb 150] [--tree closure|usr] [--work DIR] [--data DIR (keep generated data there)]
// Every run unpacks into a fresh directory and nothing is deleted until all runs are done: ext4
// scans recently freed inodes when it allocates new ones (perf: `recently_deleted`, ~0.5 s of a
// 2.5 s run), a cost of deleting the previous run's tree right before, not of unpacking.
import { existsSync, createReadStream, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { nixShellCommand } from '@flox-k8s/nix-fixtures';
import { decompress, type DecoderOptions } from '../src/decompress.ts';
import { unpackNar, unpackOwnedNar } from '../src/nar-unpack.ts';
import { removeTree } from '../src/remove-tree.ts';
import { bytesOf, flag, loadAverage, makeTree, mb, median, medians, nixDumpTo, option, sh, timeFn, timeShell, treeDistribution, type Timing } from './lib.ts';

const runs = flag('runs', 5);
// --only xz|zstd runs one half.
const only = option('only', '');
const keep = option('data', '');
const work = keep === '' ? mkdtempSync(join(option('work', tmpdir()), 'nar-bench-unpack-')) : keep;
const outs = join(work, 'out');
let serial = 0;
const freshDest = (): string => join(outs, `run-${serial++}`);
try {
  if (!existsSync(join(work, 'small.nar.xz'))) generate();
  rmSync(outs, { recursive: true, force: true });
  mkdirSync(outs, { recursive: true });
  const bigNar = bytesOf(join(work, 'big.nar'));
  const smallNar = bytesOf(join(work, 'small.nar'));
  console.log(`big NAR ${mb(bigNar)} (zstd ${mb(bytesOf(join(work, 'big.nar.zst')))}): ${readFileSync(join(work, 'big.dist.txt'), 'utf8')}`);
  console.log(`small NAR ${mb(smallNar)} (xz ${mb(bytesOf(join(work, 'small.nar.xz')))}); load ${loadAverage()}`);

  const ours = (file: string, compression: string, decoders?: DecoderOptions) => (): Promise<Timing> => {
    const dest = freshDest();
    return timeFn(async () => {
      await unpackNar(decompress(compression, createReadStream(file, { highWaterMark: 1 << 20 }), decoders), dest);
    });
  };
  // What fetchNar runs after the HTTP body: the same, but decoder buffers are freed as soon as they are written.
  const fetchPath = (file: string) => (): Promise<Timing> => {
    const dest = freshDest();
    return timeFn(async () => {
      await unpackOwnedNar(decompress('zstd', createReadStream(file, { highWaterMark: 1 << 20 })), dest, {}, true);
    });
  };
  const nixRestore = (script: (dest: string) => string) => (): Timing => timeShell(script(freshDest()));
  // Interleaved so that background load affects every contender alike; dirty pages are flushed before each run (untimed).
  const interleave = async (fns: Record<string, () => Promise<Timing> | Timing>, n: number): Promise<Record<string, Timing[]>> => {
    const out: Record<string, Timing[]> = Object.fromEntries(Object.keys(fns).map((k) => [k, []]));
    for (let i = 0; i < n; i++) {
      for (const [name, fn] of Object.entries(fns)) {
        sh('sync');
        out[name]!.push(await fn());
      }
    }
    return out;
  };
  const rate = (bytes: number, t: Timing): string => `${t.wall.toFixed(2)} s wall (${(bytes / 1e6 / t.wall).toFixed(0)} MB/s), ${t.cpu.toFixed(2)} s cpu`;
  const walls = (ts: Timing[]): string => ts.map((t) => t.wall.toFixed(2)).join(' ');

  if (only !== 'xz') {
    const big = join(work, 'big.nar.zst');
    const z = await interleave(
      {
        ours: ours(big, 'zstd'),
        fetch: fetchPath(big),
        nix: nixRestore((dest) => `zstd -dc '${big}' | ${nixShellCommand('nix-store', ['--restore', dest])}`),
        cli: () => timeShell(`zstd -dc '${big}' > /dev/null`),
      },
      runs,
    );
    const [zo, zf, zn, zc] = [medians(z.ours!), medians(z.fetch!), medians(z.nix!), medians(z.cli!)];
    console.log(`zstd: unpackNar(decompress)             ${rate(bigNar, zo)}   <- target >= 400 MB/s of NAR output (runs: ${walls(z.ours!)})`);
    console.log(`zstd: fetchNar's path (buffers freed)   ${rate(bigNar, zf)}; ${(zn.wall / zf.wall).toFixed(2)}x Nix's speed (runs: ${walls(z.fetch!)})`);
    console.log(`zstd: zstd -dc | nix-store --restore    ${rate(bigNar, zn)}; ours is ${(zn.wall / zo.wall).toFixed(2)}x Nix's speed (runs: ${walls(z.nix!)})`);
    console.log(`zstd: zstd -dc > /dev/null (no unpack)  ${rate(bigNar, zc)}`);
    const perRun = (ts: Timing[]): string => median(ts.map((t, i) => z.nix![i]!.wall / t.wall)).toFixed(2);
    console.log(`zstd: per-run speed ratio to Nix, median: unpackNar ${perRun(z.ours!)}, fetchNar's path ${perRun(z.fetch!)}; load ${loadAverage()}`);
  }

  if (only !== 'zstd') {
    const small = join(work, 'small.nar.xz');
    const x = await interleave({ ours: ours(small, 'xz'), cli: () => timeShell(`xz -dc '${small}' > /dev/null`) }, runs);
    const xw = await interleave({ wasm: ours(small, 'xz', { xz: 'wasm' }) }, Math.min(runs, 3));
    const [xo, xc, xwm] = [medians(x.ours!), medians(x.cli!), medians(xw.wasm!)];
    console.log(`xz: unpackNar(decompress), xz -dc child ${rate(smallNar, xo)}; ${(xc.wall / xo.wall).toFixed(2)}x the CLI   <- target >= 0.8x`);
    console.log(`xz: xz -dc > /dev/null (no unpack)      ${rate(smallNar, xc)}`);
    console.log(`xz: unpackNar(decompress), WASM fallback ${rate(smallNar, xwm)}; ${(xc.wall / xwm.wall).toFixed(2)}x the CLI`);
  }
  console.log(`load average at end: ${loadAverage()}`);
} finally {
  await removeTree(outs).catch(() => undefined);
  if (keep === '') rmSync(work, { recursive: true, force: true });
}

function generate(): void {
  mkdirSync(work, { recursive: true });
  const big = join(work, 'big');
  const small = join(work, 'small');
  makeTree(big, flag('mb', 600) * 1e6);
  makeTree(small, flag('xz-mb', 150) * 1e6, [['/usr/bin', 1], ['/usr/lib', 0], ['/usr/share', 0]]);
  writeFileSync(join(work, 'big.dist.txt'), treeDistribution(big));
  nixDumpTo(big, join(work, 'big.nar'));
  nixDumpTo(small, join(work, 'small.nar'));
  rmSync(big, { recursive: true, force: true });
  rmSync(small, { recursive: true, force: true });
  // Nix's defaults: zstd level 3 (multi-threaded here to save time; still one frame), xz preset 6.
  sh(`zstd -q -3 -T0 -c '${work}/big.nar' > '${work}/big.nar.zst'`);
  sh(`xz -6 -T1 -c '${work}/small.nar' > '${work}/small.nar.xz'`);
}
