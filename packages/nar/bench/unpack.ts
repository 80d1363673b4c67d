// Unpack throughput from local compressed NARs, against the CLI tools on the same files.
//   node bench/unpack.ts [--runs 5] [--mb 600] [--xz-mb 150] [--work DIR]
import { createReadStream, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { decompress, type DecoderOptions } from '../src/decompress.ts';
import { unpackNar } from '../src/nar-unpack.ts';
import { removeTree } from '../src/remove-tree.ts';
import { bytesOf, flag, loadAverage, makeTree, mb, median, nixDumpTo, option, sh, timeRuns } from './lib.ts';

const runs = flag('runs', 5);
const work = mkdtempSync(join(option('work', tmpdir()), 'nar-bench-unpack-'));
try {
  const big = join(work, 'big');
  const small = join(work, 'small');
  console.log(`building trees (load ${loadAverage()})…`);
  makeTree(big, flag('mb', 600) * 1e6);
  makeTree(small, flag('xz-mb', 150) * 1e6, ['/usr/bin', '/usr/lib', '/usr/share']);
  nixDumpTo(big, join(work, 'big.nar'));
  nixDumpTo(small, join(work, 'small.nar'));
  rmSync(big, { recursive: true, force: true });
  rmSync(small, { recursive: true, force: true });
  // Nix's defaults: zstd level 3 (multi-threaded here to save time; output is one frame), xz preset 6.
  sh(`zstd -q -3 -T0 -c '${work}/big.nar' > '${work}/big.nar.zst'`);
  sh(`xz -6 -T1 -c '${work}/small.nar' > '${work}/small.nar.xz'`);
  const bigNar = bytesOf(join(work, 'big.nar'));
  const smallNar = bytesOf(join(work, 'small.nar'));
  console.log(`big NAR ${mb(bigNar)} (zstd ${mb(bytesOf(join(work, 'big.nar.zst')))}), small NAR ${mb(smallNar)} (xz ${mb(bytesOf(join(work, 'small.nar.xz')))})`);

  const dest = join(work, 'out');
  const clean = async (): Promise<void> => {
    await removeTree(dest);
    sh('sync');
  };
  const ours = (file: string, compression: string, decoders?: DecoderOptions) => async (): Promise<void> => {
    await unpackNar(decompress(compression, createReadStream(file, { highWaterMark: 1 << 20 }), decoders), dest);
  };

  const zstdOurs = median(await timeRuns(runs, ours(join(work, 'big.nar.zst'), 'zstd'), clean));
  const zstdNix = median(await timeRuns(runs, () => sh(`zstd -dc '${work}/big.nar.zst' | nix-store --restore '${dest}'`), clean));
  const zstdCli = median(await timeRuns(runs, () => sh(`zstd -dc '${work}/big.nar.zst' > /dev/null`)));
  console.log(`zstd unpack (ours): median ${zstdOurs.toFixed(2)} s = ${(bigNar / 1e6 / zstdOurs).toFixed(0)} MB/s of NAR output`);
  console.log(`  baseline zstd -dc | nix-store --restore: ${zstdNix.toFixed(2)} s = ${(bigNar / 1e6 / zstdNix).toFixed(0)} MB/s; ours/Nix speed ratio ${(zstdNix / zstdOurs).toFixed(2)}`);
  console.log(`  decode only, zstd -dc > /dev/null: ${zstdCli.toFixed(2)} s = ${(bigNar / 1e6 / zstdCli).toFixed(0)} MB/s`);

  const xzOurs = median(await timeRuns(runs, ours(join(work, 'small.nar.xz'), 'xz'), clean));
  const xzCli = median(await timeRuns(runs, () => sh(`xz -dc '${work}/small.nar.xz' > /dev/null`)));
  const xzWasm = median(await timeRuns(Math.min(runs, 3), ours(join(work, 'small.nar.xz'), 'xz', { xz: 'wasm' }), clean));
  console.log(`xz unpack (ours, xz -dc subprocess): median ${xzOurs.toFixed(2)} s = ${(smallNar / 1e6 / xzOurs).toFixed(0)} MB/s`);
  console.log(`  baseline xz -dc > /dev/null: ${xzCli.toFixed(2)} s = ${(smallNar / 1e6 / xzCli).toFixed(0)} MB/s; ours = ${(xzCli / xzOurs).toFixed(2)}x the CLI`);
  console.log(`  WASM fallback (xz-decompress): ${xzWasm.toFixed(2)} s = ${(smallNar / 1e6 / xzWasm).toFixed(0)} MB/s; ${(xzCli / xzWasm).toFixed(2)}x the CLI`);
  console.log(`load average at end: ${loadAverage()}`);
} finally {
  await removeTree(join(work, 'out')).catch(() => undefined);
  rmSync(work, { recursive: true, force: true });
}
