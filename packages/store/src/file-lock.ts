import { linkSync, readFileSync, renameSync, statSync, unlinkSync, writeFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { randomBytes } from 'node:crypto';
import { StoreAbortedError, StoreLockTimeoutError } from './errors.ts';
import { ownerAlive, ownerTag, selfOwner, type ProcessOwner } from './process-owner.ts';
import { errnoCode } from './fs-util.ts';

// Lock files are linked into place complete; one that does not parse is not
// ours (or the disk is damaged) and is only presumed abandoned after this long.
const EMPTY_LOCK_GRACE_MS = 5_000;

function readOwner(file: string): { owner: ProcessOwner | undefined; text: string } | undefined {
  let text: string;
  try {
    text = readFileSync(file, 'utf8');
  } catch (err) {
    if (errnoCode(err) === 'ENOENT') return undefined;
    throw err;
  }
  try {
    const v = JSON.parse(text) as Partial<ProcessOwner>;
    if (typeof v.pid === 'number' && typeof v.start === 'string' && typeof v.boot === 'string') {
      return { owner: { pid: v.pid, start: v.start, boot: v.boot }, text };
    }
  } catch {
    // fall through: half-written
  }
  return { owner: undefined, text };
}

function isStale(file: string, seen: { owner: ProcessOwner | undefined }): boolean {
  if (seen.owner) return !ownerAlive(seen.owner);
  try {
    return Date.now() - statSync(file).mtimeMs > EMPTY_LOCK_GRACE_MS;
  } catch {
    return false;
  }
}

/**
 * Removes a stale lock without ever removing a fresh one: move it aside, check
 * that what was moved is what we judged stale, and put it back otherwise.
 */
function breakStaleLock(file: string, seenText: string): void {
  const aside = join(dirname(file), `.${ownerTag()}-${randomBytes(6).toString('hex')}.aside`);
  try {
    renameSync(file, aside);
  } catch (err) {
    if (errnoCode(err) === 'ENOENT') return;
    throw err;
  }
  let movedText = '';
  try {
    movedText = readFileSync(aside, 'utf8');
  } catch {
    // gone: nothing to restore
  }
  if (movedText !== seenText) {
    try {
      linkSync(aside, file); // a live holder's lock: restore it unless someone took the name already
    } catch {
      // Lost the race twice over; correctness does not depend on the lock (see README), only dedup does.
    }
  }
  try {
    unlinkSync(aside);
  } catch {
    // already gone
  }
}

/**
 * Tries once to take `file`; breaks it first when its holder is dead. The
 * lock is written complete to a temp file and hard-linked into place (link,
 * like O_EXCL, fails when the name exists), so a lock file is never seen
 * empty, even if its writer is killed mid-way.
 */
export function tryLock(file: string): boolean {
  const tmp = join(dirname(file), `.${ownerTag()}-${randomBytes(6).toString('hex')}.tmp`);
  writeFileSync(tmp, JSON.stringify(selfOwner()), { mode: 0o644 });
  try {
    for (let attempt = 0; attempt < 2; attempt++) {
      try {
        linkSync(tmp, file);
        return true;
      } catch (err) {
        if (errnoCode(err) !== 'EEXIST') throw err;
      }
      const seen = readOwner(file);
      if (seen === undefined) continue; // released meanwhile: try again
      if (!isStale(file, seen)) return false;
      breakStaleLock(file, seen.text);
    }
    return false;
  } finally {
    try {
      unlinkSync(tmp);
    } catch {
      // already gone
    }
  }
}

/** Releases a lock this process holds. */
export function unlock(file: string): void {
  const seen = readOwner(file);
  const self = selfOwner();
  if (seen?.owner?.pid !== self.pid || seen.owner.start !== self.start) return;
  try {
    unlinkSync(file);
  } catch (err) {
    if (errnoCode(err) !== 'ENOENT') throw err;
  }
}

/** True when a live process holds `file`. */
export function isLocked(file: string): boolean {
  const seen = readOwner(file);
  return seen !== undefined && !isStale(file, seen);
}

/** Removes `file` if its holder is dead; true when it was stale. */
export function clearIfStale(file: string): boolean {
  const seen = readOwner(file);
  if (seen === undefined || !isStale(file, seen)) return false;
  breakStaleLock(file, seen.text);
  return true;
}

export interface WaitOptions {
  signal?: AbortSignal | undefined;
  timeoutMs?: number | undefined;
  /** Polled after each failed attempt: when it returns true, waiting stops without the lock. */
  satisfied?: () => boolean;
  what: string;
}

/**
 * Takes `file`, waiting (polling with backoff) while a live process holds it.
 * Resolves true when locked, false when `satisfied()` made the lock unnecessary.
 */
export async function lock(file: string, opts: WaitOptions): Promise<boolean> {
  const deadline = opts.timeoutMs === undefined ? Infinity : Date.now() + opts.timeoutMs;
  let delay = 5;
  for (;;) {
    if (opts.signal?.aborted) throw new StoreAbortedError(`aborted while waiting for ${opts.what}`, { cause: opts.signal.reason });
    if (tryLock(file)) return true;
    if (opts.satisfied?.()) return false;
    if (Date.now() > deadline) {
      const holder = readOwner(file)?.text ?? 'a process that just released it';
      throw new StoreLockTimeoutError(
        `waited ${opts.timeoutMs} ms for ${opts.what} held by ${holder}; another process is still working on it: retry later`,
      );
    }
    try {
      await sleep(delay, undefined, { signal: opts.signal });
    } catch {
      // aborted: reported at the top of the loop
    }
    delay = Math.min(delay * 2, 100);
  }
}
