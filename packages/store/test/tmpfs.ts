// Real full disks for tests: a small tmpfs (root only) and fillers that leave
// exactly N free blocks (size=) or N free inodes (nr_inodes=).
import { spawnSync } from 'node:child_process';
import { closeSync, fstatSync, ftruncateSync, mkdirSync, openSync, readdirSync, statfsSync, unlinkSync, writeFileSync, writeSync } from 'node:fs';
import { join } from 'node:path';
import { Store } from '../src/store.ts';
import { cleanup, tempDir } from './helpers.ts';

/** Mounting a tmpfs needs root; CI runs as root, so there these suites never skip. */
export const canMount: boolean = process.getuid?.() === 0;

/** Mounts a tmpfs with `options` (e.g. `size=8m`, `nr_inodes=300`); `unmount` removes it again. */
export function mountTmpfs(options: string): { dir: string; unmount: () => void } {
  const dir = tempDir('flox-store-tmpfs-');
  const r = spawnSync('mount', ['-t', 'tmpfs', '-o', options, 'tmpfs', dir], { encoding: 'utf8' });
  if (r.status !== 0) throw new Error(`mount -t tmpfs -o ${options} failed: ${r.stderr}`);
  return {
    dir,
    unmount: () => {
      spawnSync('umount', [dir]);
      cleanup(dir);
    },
  };
}

/** Runs `fn` with a store opened at `<a fresh tmpfs mounted with options>/root`; unmounts afterwards. */
export async function withTmpfsStore(options: string, fn: (mount: string, root: string, store: Store) => Promise<void>): Promise<void> {
  const { dir, unmount } = mountTmpfs(options);
  try {
    const root = join(dir, 'root');
    mkdirSync(root);
    await fn(dir, root, await Store.open(root));
  } finally {
    unmount();
  }
}

/** Grows or shrinks `<mount>/filler` until the filesystem has exactly `blocks` free blocks. */
export function leaveFreeBlocks(mount: string, blocks: number): void {
  const fd = openSync(join(mount, 'filler'), 'a');
  try {
    for (let i = 0; i < 64; i++) {
      const st = statfsSync(mount);
      const extra = st.bfree - blocks;
      if (extra === 0) return;
      if (extra > 0) {
        writeSync(fd, Buffer.alloc(extra * st.bsize, 1));
        continue;
      }
      const size = fstatSync(fd).size + extra * st.bsize;
      if (size < 0) throw new Error(`cannot leave ${blocks} free blocks on ${mount}: only ${st.bfree - fstatSync(fd).size / st.bsize} exist without the filler`);
      ftruncateSync(fd, size);
    }
    throw new Error(`could not leave exactly ${blocks} free blocks on ${mount}`);
  } finally {
    closeSync(fd);
  }
}

/** Creates or removes empty files in `<mount>/inodes/` until exactly `inodes` inodes are free. */
export function leaveFreeInodes(mount: string, inodes: number): void {
  const dir = join(mount, 'inodes');
  mkdirSync(dir, { recursive: true });
  let n = readdirSync(dir).length;
  const free = statfsSync(mount).ffree;
  if (free > inodes) for (let i = 0; i < free - inodes; i++) writeFileSync(join(dir, String(n++)), '');
  else for (let i = 0; i < inodes - free; i++) unlinkSync(join(dir, String(--n)));
  const now = statfsSync(mount).ffree;
  if (now !== inodes) throw new Error(`could not leave exactly ${inodes} free inodes on ${mount} (${now})`);
}

/** Removes every filler. */
export function removeFillers(mount: string): void {
  cleanup(join(mount, 'filler'));
  cleanup(join(mount, 'inodes'));
}
