import { lstat, readdir, readFile, readlink } from 'node:fs/promises';
import { join, posix } from 'node:path';
import { ImageSourceError } from './errors.ts';
import type { LayerEntry } from './layer.ts';

/**
 * Entries for every file, directory and symlink under `dir`, placed under `prefix` in the image.
 * Ownership and times are not kept (the writer stamps fixed ones); permission bits are.
 * Hard links become independent files. Contents are read into memory.
 */
export async function entriesFromDirectory(dir: string, prefix = ''): Promise<LayerEntry[]> {
  const out: LayerEntry[] = [];
  const walk = async (hostDir: string, imageDir: string): Promise<void> => {
    let names: string[];
    try {
      names = (await readdir(hostDir)).sort();
    } catch (cause) {
      throw new ImageSourceError(`cannot read layer source directory ${hostDir}; expected a readable directory`, { cause });
    }
    for (const name of names) {
      const hostPath = join(hostDir, name);
      const imagePath = imageDir === '' ? name : posix.join(imageDir, name);
      const st = await lstat(hostPath);
      if (st.isDirectory()) {
        out.push({ type: 'directory', path: imagePath, mode: st.mode & 0o7777 });
        await walk(hostPath, imagePath);
      } else if (st.isFile()) {
        out.push({ type: 'file', path: imagePath, content: await readFile(hostPath), mode: st.mode & 0o7777 });
      } else if (st.isSymbolicLink()) {
        out.push({ type: 'symlink', path: imagePath, target: await readlink(hostPath) });
      } else {
        throw new ImageSourceError(`${hostPath} is a socket, device or fifo; a layer can only carry files, directories and symlinks`);
      }
    }
  };
  const root = prefix.split('/').filter((p) => p !== '').join('/');
  await walk(dir, root);
  return out;
}
