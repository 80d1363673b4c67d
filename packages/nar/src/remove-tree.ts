import { chmod, lstat, readdir, rm } from 'node:fs/promises';

/**
 * Remove a tree written by unpackNar, restoring write permission on its read-only
 * directories first (non-root users cannot delete entries of a 0555 directory).
 * Symlinks are never followed. Missing paths are fine.
 */
export async function removeTree(path: string): Promise<void> {
  await makeWritable(path);
  await rm(path, { recursive: true, force: true });
}

async function makeWritable(path: string): Promise<void> {
  let st;
  try {
    st = await lstat(path);
  } catch {
    return;
  }
  if (!st.isDirectory()) return;
  if ((st.mode & 0o700) !== 0o700) await chmod(path, 0o700);
  const names = await readdir(path, { encoding: 'buffer' }).catch(() => []);
  for (const name of names) await makeWritable(`${path}/${name.toString()}`);
}
