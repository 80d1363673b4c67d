import { linkSync, lstatSync, readFileSync, readlinkSync, renameSync, symlinkSync, unlinkSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { randomBytes } from 'node:crypto';
import { StoreAbortedError, StoreLockTimeoutError, writeFailure } from './errors.ts';
import { ownerAlive, ownerTag, selfOwner, type ProcessOwner } from './process-owner.ts';
import { errnoCode } from './fs-util.ts';

// A lock is a hard link of its holder's owner symlink (`.<pid>-<start>-owner`,
// whose target names the process). Taking one is link(2): atomic, exclusive
// (EEXIST), and it needs neither a data block nor an inode, so a GC can still
// lock on the full disk it is meant to free. The owner symlink itself is made
// once per process and directory. Releasing is unlink(2) of the lock's name.
// Earlier versions wrote locks as JSON files; those are still read.

// A lock whose owner cannot be parsed is not ours (or the disk is damaged) and
// is only presumed abandoned after this long.
const EMPTY_LOCK_GRACE_MS = 5_000;

const ownerText = (o: ProcessOwner): string => `${o.pid}:${o.start}:${o.boot}`;

function parseOwner(text: string): ProcessOwner | undefined {
  const m = /^(\d+):(\d+):([0-9a-f-]+|unknown)$/.exec(text);
  if (m) return { pid: Number(m[1]), start: m[2] as string, boot: m[3] as string };
  try {
    const v = JSON.parse(text) as Partial<ProcessOwner>;
    if (typeof v.pid === 'number' && typeof v.start === 'string' && typeof v.boot === 'string') return { pid: v.pid, start: v.start, boot: v.boot };
  } catch {
    // not an owner
  }
  return undefined;
}

/** The text naming a lock's holder (symlink target, or a legacy JSON file's contents); undefined when there is no lock. */
function readLockText(file: string): string | undefined {
  // Not held is the common case (every warm create checks the GC lock): answered without an exception.
  try {
    if (lstatSync(file, { throwIfNoEntry: false }) === undefined) return undefined;
  } catch (err) {
    throw writeFailure(err, 'reading a lock', file);
  }
  try {
    return readlinkSync(file);
  } catch (err) {
    const code = errnoCode(err);
    if (code === 'ENOENT') return undefined;
    if (code !== 'EINVAL') throw writeFailure(err, 'reading a lock', file);
  }
  try {
    return readFileSync(file, 'utf8'); // EINVAL: not a symlink, a lock of an earlier version
  } catch (err) {
    if (errnoCode(err) === 'ENOENT') return undefined;
    throw writeFailure(err, 'reading a lock', file);
  }
}

function readOwner(file: string): { owner: ProcessOwner | undefined; text: string } | undefined {
  const text = readLockText(file);
  return text === undefined ? undefined : { owner: parseOwner(text), text };
}

/** The holder of a lock, if it is held and names one. */
export function lockOwner(file: string): ProcessOwner | undefined {
  return readOwner(file)?.owner;
}

function isStale(file: string, seen: { owner: ProcessOwner | undefined }): boolean {
  if (seen.owner) return !ownerAlive(seen.owner);
  try {
    return Date.now() - lstatSync(file).mtimeMs > EMPTY_LOCK_GRACE_MS;
  } catch {
    return false;
  }
}

const ownerLinks = new Map<string, string>();

/** This process's owner symlink in `dir` (created on first use). */
function ownerLink(dir: string, fresh = false): string {
  let link = ownerLinks.get(dir);
  if (link !== undefined && !fresh) return link;
  link = join(dir, `.${ownerTag()}-owner`);
  const text = ownerText(selfOwner());
  for (let attempt = 0; ; attempt++) {
    try {
      symlinkSync(text, link);
      break;
    } catch (err) {
      if (errnoCode(err) !== 'EEXIST' || attempt > 0) throw writeFailure(err, 'creating the lock owner link', link);
    }
    // Same pid and start time: ours from before, or a process of an earlier boot that was never cleaned up.
    if (readLockText(link) === text) break;
    unlinkSync(link);
  }
  ownerLinks.set(dir, link);
  return link;
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
    throw writeFailure(err, 'breaking a stale lock', file);
  }
  let movedText: string | undefined;
  try {
    movedText = readLockText(aside);
  } catch {
    // unreadable: put it back below
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
 * Tries once to take `file`; breaks it first when its holder is dead. A lock
 * is never seen half-made: it is a link to a complete symlink.
 */
export function tryLock(file: string): boolean {
  let owner = ownerLink(dirname(file));
  for (let attempt = 0; attempt < 3; attempt++) {
    try {
      linkSync(owner, file);
      return true;
    } catch (err) {
      const code = errnoCode(err);
      if (code === 'ENOENT') {
        owner = ownerLink(dirname(file), true); // our owner link was removed from under us: make it again
        continue;
      }
      if (code !== 'EEXIST') throw writeFailure(err, 'taking a lock', file);
    }
    const seen = readOwner(file);
    if (seen === undefined) continue; // released meanwhile: try again
    if (!isStale(file, seen)) return false;
    breakStaleLock(file, seen.text);
  }
  return false;
}

/** Releases a lock this process holds. */
export function unlock(file: string): void {
  const seen = readOwner(file);
  const self = selfOwner();
  if (seen?.owner?.pid !== self.pid || seen.owner.start !== self.start) return;
  try {
    unlinkSync(file);
  } catch (err) {
    if (errnoCode(err) !== 'ENOENT') throw writeFailure(err, 'releasing a lock', file);
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
