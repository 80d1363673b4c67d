import { chmod, lstat, readdir, rm } from 'node:fs/promises';

const slash = Buffer.from('/');

/**
 * Remove a tree written by unpackNar, restoring write permission on its read-only
 * directories first (non-root users cannot delete entries of a 0555 directory).
 * Symlinks are never followed. Missing paths are fine.
 */
export async function removeTree(path: string): Promise<void> {
  await makeWritable(Buffer.from(path));
  await rm(path, { recursive: true, force: true });
}

// Paths stay Buffers: NAR entry names need not be valid UTF-8.
async function makeWritable(path: Buffer): Promise<void> {
  const st = await lstat(path).catch(() => undefined);
  if (st === undefined || !st.isDirectory()) return;
  if ((st.mode & 0o700) !== 0o700) await chmod(path, 0o700);
  const names = await readdir(path, { encoding: 'buffer' }).catch(() => []);
  for (const name of names) await makeWritable(Buffer.concat([path, slash, name]));
}
