// The cost of creating files on a given filesystem, as a realise creates them (exclusive create,
// one write, chmod, mtime, close): 60 directories of 36 files of 100 kB, like the bench closure.
// On an ext4 that has freed many inodes lately, each create can wait on inode-table reads
// (recently_deleted()), which dwarfs everything else a realise does; compare a fresh filesystem.
//   node bench/create-cost.ts DIR [DIR...]
import { closeSync, constants, fchmodSync, futimesSync, mkdirSync, mkdtempSync, openSync, rmSync, writeSync } from 'node:fs';
import { join } from 'node:path';

const FLAGS = constants.O_WRONLY | constants.O_CREAT | constants.O_EXCL | constants.O_NOFOLLOW;
const data = Buffer.alloc(100_000, 1);
for (const parent of process.argv.slice(2)) {
  const dir = mkdtempSync(join(parent, 'flox-create-cost-'));
  let open = 0;
  let rest = 0;
  const t0 = performance.now();
  for (let d = 0; d < 60; d++) {
    mkdirSync(join(dir, `d${d}`));
    for (let i = 0; i < 36; i++) {
      const a = performance.now();
      const fd = openSync(join(dir, `d${d}`, `f${i}`), FLAGS, 0o644);
      const b = performance.now();
      writeSync(fd, data);
      fchmodSync(fd, 0o444);
      futimesSync(fd, 1, 1);
      closeSync(fd);
      rest += performance.now() - b;
      open += b - a;
    }
  }
  const total = performance.now() - t0;
  console.log(`${parent}: ${total.toFixed(0)} ms for 2160 files; open ${((open / 2160) * 1000).toFixed(0)} us each, write+chmod+utimes+close ${((rest / 2160) * 1000).toFixed(0)} us each`);
  rmSync(dir, { recursive: true, force: true });
}
