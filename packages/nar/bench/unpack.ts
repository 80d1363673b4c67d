// Unpack throughput from local compressed NARs, against the CLI tools on the same files.
//   node bench/unpack.ts [--runs 5] [--mb 600] [--xz-mb 150] [--work DIR] [--data DIR (keep generated data there)]
import { createReadStream, existsSync, mkdirSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { decompress, type DecoderOptions } from '../src/decompress.ts';
import { unpackNar } from '../src/nar-unpack.ts';
import { removeTree } from '../src/remove-tree.ts';
import { bytesOf, flag, loadAverage, makeTree, mb, medians, nixDumpTo, option, sh, timeFn, timeRuns, timeShell, type Timing } from './lib.ts';

const runs = flag('runs', 5);
const keep = option('data', '');
const work = keep === '' ? mkdtempSync(join(option('work', tmpdir()), 'nar-bench-unpack-')) : keep;
const dest = join(work, 'out');
try {
  if (!existsSync(join(work, 'small.nar.xz'))) generate();
  const bigNar = bytesOf(join(work, 'big.nar'));
  const smallNar = bytesOf(join(work, 'small.nar'));
  console.log(`big NAR ${mb(bigNar)} (zstd ${mb(bytesOf(join(work, 'big.nar.zst')))}), small NAR ${mb(smallNar)} (xz ${mb(bytesOf(join(work, 'small.nar.xz')))}); load ${loadAverage()}`);

  // Each run starts from an empty dest with dirty pages flushed (untimed).
  const clean = async (): Promise<void> => {
    await removeTree(dest);
    sh('sync');
  };
  const ours = (file: string, compression: string, decoders?: DecoderOptions) => (): Promise<Timing> =>
    timeFn(async () => {
      await unpackNar(decompress(compression, createReadStream(file, { highWaterMark: 1 << 20 }), decoders), dest);
    });
  const rate = (bytes: number, t: Timing): string => `${t.wall.toFixed(2)} s wall (${(bytes / 1e6 / t.wall).toFixed(0)} MB/s), ${t.cpu.toFixed(2)} s cpu`;

  const zstdOurs = medians(await timeRuns(runs, ours(join(work, 'big.nar.zst'), 'zstd'), clean));
  const zstdNix = medians(await timeRuns(runs, () => timeShell(`zstd -dc '${work}/big.nar.zst' | nix-store --restore '${dest}'`), clean));
  const zstdCli = medians(await timeRuns(runs, () => timeShell(`zstd -dc '${work}/big.nar.zst' > /dev/null`)));
  console.log(`zstd: unpackNar(decompress)             ${rate(bigNar, zstdOurs)}   <- target >= 400 MB/s of NAR output`);
  console.log(`zstd: zstd -dc | nix-store --restore    ${rate(bigNar, zstdNix)}; ours is ${(zstdNix.wall / zstdOurs.wall).toFixed(2)}x Nix's speed`);
  console.log(`zstd: zstd -dc > /dev/null (no unpack)  ${rate(bigNar, zstdCli)}`);

  const xzOurs = medians(await timeRuns(runs, ours(join(work, 'small.nar.xz'), 'xz'), clean));
  const xzCli = medians(await timeRuns(runs, () => timeShell(`xz -dc '${work}/small.nar.xz' > /dev/null`)));
  const xzWasm = medians(await timeRuns(Math.min(runs, 3), ours(join(work, 'small.nar.xz'), 'xz', { xz: 'wasm' }), clean));
  console.log(`xz: unpackNar(decompress), xz -dc child ${rate(smallNar, xzOurs)}; ${(xzCli.wall / xzOurs.wall).toFixed(2)}x the CLI   <- target >= 0.8x`);
  console.log(`xz: xz -dc > /dev/null (no unpack)      ${rate(smallNar, xzCli)}`);
  console.log(`xz: unpackNar(decompress), WASM fallback ${rate(smallNar, xzWasm)}; ${(xzCli.wall / xzWasm.wall).toFixed(2)}x the CLI`);
  console.log(`load average at end: ${loadAverage()}`);
} finally {
  await removeTree(dest).catch(() => undefined);
  if (keep === '') rmSync(work, { recursive: true, force: true });
}

function generate(): void {
  mkdirSync(work, { recursive: true });
  const big = join(work, 'big');
  const small = join(work, 'small');
  makeTree(big, flag('mb', 600) * 1e6);
  makeTree(small, flag('xz-mb', 150) * 1e6, ['/usr/bin', '/usr/lib', '/usr/share']);
  nixDumpTo(big, join(work, 'big.nar'));
  nixDumpTo(small, join(work, 'small.nar'));
  rmSync(big, { recursive: true, force: true });
  rmSync(small, { recursive: true, force: true });
  // Nix's defaults: zstd level 3 (multi-threaded here to save time; still one frame), xz preset 6.
  sh(`zstd -q -3 -T0 -c '${work}/big.nar' > '${work}/big.nar.zst'`);
  sh(`xz -6 -T1 -c '${work}/small.nar' > '${work}/small.nar.xz'`);
}
