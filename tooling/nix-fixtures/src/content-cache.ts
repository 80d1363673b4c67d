// A directory cached by the hash of its inputs, built at most once even when many
// vitest workers or processes ask at the same time: a lock file serialises the
// builders, and the finished tree appears with one atomic rename, so a reader
// never sees a half-built directory.
import { randomBytes } from 'node:crypto';
import { mkdir, open, readdir, readFile, rename, rm, stat, unlink } from 'node:fs/promises';
import { hostname } from 'node:os';
import { join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { FixtureLockTimeoutError, FixtureManifestInvalidError } from './errors.ts';

export interface ContentCacheSpec<T> {
  /** Directory holding one subdirectory per key. */
  base: string;
  /** Hash of every input; the subdirectory name. */
  key: string;
  /** Reads a finished directory; `undefined` when it is unusable (e.g. its store paths were garbage-collected). */
  load(dir: string): Promise<T | undefined>;
  /** Fills `tmpDir` (which will be renamed to `finalDir`) and returns the result as seen from `finalDir`. */
  build(tmpDir: string, finalDir: string): Promise<void>;
  /** Runs after the rename, still under the lock (GC roots must point at the final path). */
  afterRename?(finalDir: string): Promise<void>;
  /** Upper bound on waiting for another process's build. */
  lockWaitMs?: number;
}

/** Returns the cached result for `key`, building it under a cross-process lock when missing or stale. */
export async function contentCached<T>(spec: ContentCacheSpec<T>): Promise<T> {
  const finalDir = join(spec.base, spec.key);
  const ready = await loadIfPresent(spec, finalDir);
  if (ready !== undefined) return ready;

  await mkdir(spec.base, { recursive: true });
  const lockPath = `${finalDir}.lock`;
  await acquireLock(lockPath, spec.lockWaitMs ?? 30 * 60_000);
  try {
    // Another process may have finished while we waited for the lock.
    const raced = await loadIfPresent(spec, finalDir);
    if (raced !== undefined) return raced;

    // Holding the lock, any earlier temp dir for this key belongs to a build that died.
    for (const name of await readdir(spec.base)) {
      if (name.startsWith(`.tmp-${spec.key}-`)) await rm(join(spec.base, name), { recursive: true, force: true });
    }
    const tmpDir = join(spec.base, `.tmp-${spec.key}-${process.pid}-${randomBytes(4).toString('hex')}`);
    await mkdir(tmpDir);
    try {
      await spec.build(tmpDir, finalDir);
      await discard(spec.base, finalDir);
      await rename(tmpDir, finalDir);
    } catch (error) {
      await rm(tmpDir, { recursive: true, force: true });
      throw error;
    }
    await spec.afterRename?.(finalDir);
    const built = await spec.load(finalDir);
    if (built === undefined) throw new FixtureManifestInvalidError(finalDir, 'it is unusable right after being built');
    return built;
  } finally {
    await unlink(lockPath).catch(() => undefined);
  }
}

async function loadIfPresent<T>(spec: ContentCacheSpec<T>, dir: string): Promise<T | undefined> {
  try {
    await stat(dir);
  } catch {
    return undefined;
  }
  return spec.load(dir);
}

// A stale directory is renamed aside first so the final name is free for the atomic rename.
async function discard(base: string, dir: string): Promise<void> {
  const trash = join(base, `.trash-${process.pid}-${randomBytes(4).toString('hex')}`);
  try {
    await rename(dir, trash);
  } catch {
    return;
  }
  await rm(trash, { recursive: true, force: true });
}

async function acquireLock(lockPath: string, waitMs: number): Promise<void> {
  const started = Date.now();
  const me = `${process.pid}@${hostname()}`;
  for (;;) {
    try {
      const handle = await open(lockPath, 'wx');
      await handle.writeFile(me);
      await handle.close();
      return;
    } catch (error) {
      if ((error as NodeJS.ErrnoException).code !== 'EEXIST') throw error;
    }
    const holder = await readFile(lockPath, 'utf8').catch(() => '');
    if (holder !== '' && isDeadLocalHolder(holder)) {
      // The holder crashed; its lock would otherwise block every later run.
      await unlink(lockPath).catch(() => undefined);
      continue;
    }
    if (Date.now() - started > waitMs) throw new FixtureLockTimeoutError(lockPath, waitMs, holder || 'unknown holder');
    await sleep(200);
  }
}

function isDeadLocalHolder(holder: string): boolean {
  const [pidText, host] = holder.split('@');
  const pid = Number(pidText);
  if (host !== hostname() || !Number.isInteger(pid) || pid <= 0) return false;
  try {
    process.kill(pid, 0);
    return false;
  } catch (error) {
    return (error as NodeJS.ErrnoException).code === 'ESRCH';
  }
}
