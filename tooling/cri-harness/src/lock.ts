import { open, readFile, unlink } from 'node:fs/promises';
import { HarnessTimeoutError } from './errors.ts';

function alive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (err) {
    return (err as NodeJS.ErrnoException).code === 'EPERM';
  }
}

/**
 * Run `fn` holding an exclusive lock file shared by every process on the machine.
 * A lock whose holder PID is gone is taken over, so a crashed run cannot block the next.
 */
export async function withFileLock<T>(lockPath: string, waitMs: number, fn: () => Promise<T>): Promise<T> {
  const started = Date.now();
  for (;;) {
    try {
      const handle = await open(lockPath, 'wx');
      await handle.writeFile(String(process.pid));
      await handle.close();
      break;
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code !== 'EEXIST') throw err;
    }
    const holder = Number.parseInt(await readFile(lockPath, 'utf8').catch(() => ''), 10);
    if (Number.isInteger(holder) && holder > 0 && !alive(holder)) {
      await unlink(lockPath).catch(() => undefined);
      continue;
    }
    if (Date.now() - started > waitMs) {
      throw new HarnessTimeoutError(`waited ${waitMs} ms for lock ${lockPath} held by PID ${holder}; if no such run is active, delete the file`);
    }
    await new Promise((r) => setTimeout(r, 200));
  }
  try {
    return await fn();
  } finally {
    await unlink(lockPath).catch(() => undefined);
  }
}
