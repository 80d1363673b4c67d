// One sha256 over a whole tree, for a test that proves nothing in it changed: a store that
// containers only ever read (or write through overlays over) must keep every byte.
import { createHash } from 'node:crypto';
import { lstat, readdir, readFile, readlink } from 'node:fs/promises';
import { join } from 'node:path';

/** sha256 over every entry below `root`, in name order: relative path, mode, owner, then content or link target. */
export async function treeDigest(root: string): Promise<string> {
  const hash = createHash('sha256');
  const walk = async (dir: string): Promise<void> => {
    for (const name of (await readdir(dir)).sort()) {
      const path = join(dir, name);
      const info = await lstat(path);
      hash.update(`${path.slice(root.length)}\0${info.mode}\0${info.uid}:${info.gid}\0`);
      if (info.isDirectory()) await walk(path);
      else if (info.isSymbolicLink()) hash.update(await readlink(path));
      else hash.update(await readFile(path));
    }
  };
  await walk(root);
  return hash.digest('hex');
}
