import { createHash } from 'node:crypto';
import { chmod, cp, lstat, mkdir, readFile, readlink, rename, rm, stat, symlink, writeFile } from 'node:fs/promises';
import { dirname, join } from 'node:path';

export function sha256(bytes: string | Uint8Array): string {
  return createHash('sha256').update(bytes).digest('hex');
}

/** Write a file atomically (temp file + rename) so containerd never reads half a config. */
export async function writeFileAtomic(path: string, bytes: string | Uint8Array, mode?: number): Promise<void> {
  await mkdir(dirname(path), { recursive: true });
  // Keep the mode of a file being replaced (a restored config keeps its permissions too).
  mode ??= await stat(path).then((s) => s.mode & 0o7777, () => 0o644);
  const tmp = `${path}.flox-k8s-tmp-${process.pid}`;
  await writeFile(tmp, bytes, { mode });
  await chmod(tmp, mode);
  await rename(tmp, path);
}

export async function readIfExists(path: string): Promise<Buffer | undefined> {
  try {
    return await readFile(path);
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === 'ENOENT') return undefined;
    throw error;
  }
}

/** Replace `dest` with a copy of `src` (directory or file); the old copy disappears only after the new one is complete. */
export async function replaceWithCopy(src: string, dest: string): Promise<void> {
  const staging = `${dest}.flox-k8s-new`;
  const old = `${dest}.flox-k8s-old`;
  await rm(staging, { recursive: true, force: true });
  await rm(old, { recursive: true, force: true });
  await mkdir(dirname(dest), { recursive: true });
  await cp(src, staging, { recursive: true, verbatimSymlinks: true, preserveTimestamps: true });
  const had = await lstat(dest).then(() => true, () => false);
  if (had) await rename(dest, old);
  await rename(staging, dest);
  await rm(old, { recursive: true, force: true });
}

/** Point `link` at `target`, replacing only a symlink (never a real file someone else owns). */
export async function ensureSymlink(link: string, target: string): Promise<'created' | 'unchanged'> {
  const current = await readlink(link).catch((error: NodeJS.ErrnoException) => {
    if (error.code === 'ENOENT') return undefined;
    throw error;
  });
  if (current === target) return 'unchanged';
  await mkdir(dirname(link), { recursive: true });
  const tmp = join(dirname(link), `.flox-k8s-link-${process.pid}`);
  await rm(tmp, { force: true });
  await symlink(target, tmp);
  await rename(tmp, link);
  return 'created';
}

/** Remove `link` if it is still the symlink the agent made. */
export async function removeOwnSymlink(link: string, target: string): Promise<boolean> {
  const current = await readlink(link).catch(() => undefined);
  if (current !== target) return false;
  await rm(link, { force: true });
  return true;
}
