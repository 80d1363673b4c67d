import { execFileSync } from 'node:child_process';
import { closeSync, constants, lstatSync, openSync, readdirSync, renameSync, unlinkSync, type Stats } from 'node:fs';
import { join } from 'node:path';
import { PatchServiceError } from '../errors.ts';

/**
 * Makes a FIFO at `path` (mode 0600) unless one is there; anything else at that path is
 * replaced. Node has no mkfifo(3), so this runs the `mkfifo` command once per start.
 */
export function ensureFifo(path: string, mkfifo: string): Stats {
  const existing = lstatOrUndefined(path);
  if (existing?.isFIFO() === true) return existing;
  const tmp = `${path}.tmp-${process.pid}`;
  try {
    try {
      unlinkSync(tmp);
    } catch {
      // not there
    }
    execFileSync(mkfifo, ['-m', '600', tmp], { stdio: 'ignore' });
    renameSync(tmp, path);
  } catch (error) {
    throw new PatchServiceError(`cannot make the FIFO ${path} with ${mkfifo}: ${(error as Error).message}`, { cause: error });
  }
  return lstatSync(path);
}

export function lstatOrUndefined(path: string): Stats | undefined {
  try {
    return lstatSync(path);
  } catch {
    return undefined;
  }
}

/**
 * Opens the reply FIFO for writing without blocking. The front opens its end right
 * after sending the request, so ENXIO (no reader yet) is retried for `timeoutMs`;
 * O_NOFOLLOW refuses a symlink planted in place of the FIFO.
 */
export async function openReply(path: string, timeoutMs: number): Promise<number> {
  const deadline = performance.now() + timeoutMs;
  for (let delay = 1; ; delay = Math.min(delay * 2, 20)) {
    try {
      return openSync(path, constants.O_WRONLY | constants.O_NONBLOCK | constants.O_NOFOLLOW);
    } catch (error) {
      if ((error as NodeJS.ErrnoException).code !== 'ENXIO' || performance.now() >= deadline) throw error;
    }
    await new Promise((r) => setTimeout(r, delay));
  }
}

/**
 * Removes reply FIFOs whose front is gone (its pid no longer exists) and anything
 * that is not a FIFO. Opening a FIFO for reading first releases a front's watchdog
 * still blocked opening it for writing.
 */
export function removeStaleReplies(repliesDir: string): number {
  let removed = 0;
  let names: string[];
  try {
    names = readdirSync(repliesDir);
  } catch {
    return 0;
  }
  for (const name of names) {
    const path = join(repliesDir, name);
    const stat = lstatOrUndefined(path);
    if (stat === undefined) continue;
    const alive = /^[1-9][0-9]*$/.test(name) && lstatOrUndefined(`/proc/${name}`) !== undefined;
    if (alive && stat.isFIFO()) continue;
    if (stat.isFIFO()) {
      try {
        closeSync(openSync(path, constants.O_RDONLY | constants.O_NONBLOCK | constants.O_NOFOLLOW));
      } catch {
        // nobody to release
      }
    }
    try {
      unlinkSync(path);
      removed++;
    } catch {
      // raced with its front
    }
  }
  return removed;
}
