import { execFile, execFileSync } from 'node:child_process';
import { closeSync, constants, fstatSync, lstatSync, openSync, readSync, readdirSync, renameSync, unlinkSync, type Stats } from 'node:fs';
import { constants as osConstants } from 'node:os';
import { join } from 'node:path';
import { CLAIMS_DIR, REPLIES_DIR } from '@flox-k8s/agent-protocol';
import { loadKoffi } from '@flox-k8s/nar/koffi';
import { PatchServiceError } from '../errors.ts';

/** mkfifo(3) of the C library, bound through koffi, with the errno it leaves. */
interface LibcMkfifo {
  mkfifo: (path: string, mode: number) => number;
  errno: () => number;
}

let libc: LibcMkfifo | Error | undefined;

/**
 * mkfifo(3) through koffi, or why not (koffi does not load here, no glibc `libc.so.6`); memoised.
 * Node has no mkfifo: without this, each batch of FIFOs costs a `mkfifo` process, and forking the
 * node agent blocks its event loop for 13 ms and more (its whole address space is copied).
 */
export function libcMkfifo(): LibcMkfifo | Error {
  if (libc === undefined) {
    const koffi = loadKoffi();
    try {
      libc = koffi instanceof Error ? koffi : { mkfifo: koffi.load('libc.so.6').func('int mkfifo(const char *path, uint32_t mode)') as LibcMkfifo['mkfifo'], errno: () => koffi.errno() };
    } catch (error) {
      libc = new Error(`mkfifo(3) does not load here: ${(error as Error).message}`);
    }
  }
  return libc;
}

/** mkfifo(3) when no command is named and it loads here; undefined: run the command. */
function libcUnless(command: string | undefined): LibcMkfifo | undefined {
  if (command !== undefined) return undefined;
  const binding = libcMkfifo();
  return binding instanceof Error ? undefined : binding;
}

const ERRNO_NAMES = new Map(Object.entries(osConstants.errno).map(([name, n]) => [n, name]));

/** One FIFO with mkfifo(3), mode 0600 (less the umask, which leaves 0600 to its owner as usual); throws an errno error. */
function mkfifoCall(binding: LibcMkfifo, path: string): void {
  if (binding.mkfifo(path, 0o600) === 0) return;
  const errno = binding.errno();
  const code = ERRNO_NAMES.get(errno) ?? `errno ${errno}`;
  throw Object.assign(new Error(`${code}: mkfifo ${path}`), { code, errno: -errno, path });
}

/**
 * Makes FIFOs at `paths` (mode 0600): by mkfifo(3) when `command` is undefined and it loads here
 * (libcMkfifo), else by one run of `command` (default `mkfifo` on PATH) for all of them. Makes what
 * it can; returns the first failure, if any.
 */
export function makeFifos(paths: readonly string[], command: string | undefined): Promise<Error | undefined> {
  const binding = libcUnless(command);
  if (binding === undefined) {
    return new Promise((resolve) => execFile(command ?? 'mkfifo', ['-m', '600', '--', ...paths], (error) => resolve(error ?? undefined)));
  }
  let first: Error | undefined;
  for (const path of paths) {
    try {
      mkfifoCall(binding, path);
    } catch (error) {
      first ??= error as Error;
    }
  }
  return Promise.resolve(first);
}

/**
 * Makes a FIFO at `path` (mode 0600) unless one is there; anything else at that path is
 * replaced. With mkfifo(3), or the `command` process (see makeFifos).
 */
export function ensureFifo(path: string, command: string | undefined): Stats {
  const existing = lstatOrUndefined(path);
  if (existing?.isFIFO() === true) return existing;
  const tmp = `${path}.tmp-${process.pid}`;
  const binding = libcUnless(command);
  const how = binding === undefined ? (command ?? 'mkfifo') : 'mkfifo(3)';
  try {
    try {
      unlinkSync(tmp);
    } catch {
      // not there
    }
    if (binding === undefined) execFileSync(command ?? 'mkfifo', ['-m', '600', tmp], { stdio: 'ignore' });
    else mkfifoCall(binding, tmp);
    renameSync(tmp, path);
  } catch (error) {
    throw new PatchServiceError(`cannot make the FIFO ${path} with ${how}: ${(error as Error).message}`, { cause: error });
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

/** How old a claim without a pid may be before it is stale (the front writes its pid right after the create). */
const UNWRITTEN_CLAIM_MS = 10_000;

/**
 * Removes what no front may still use: claims whose front is gone (with their reply
 * FIFO), reply FIFOs neither in the pool, claimed by a live front nor named by a live
 * front's pid, and anything that is not a FIFO. Opening a FIFO for reading first
 * releases a front's watchdog still blocked opening it for writing.
 */
export function removeStaleReplies(dir: string, pool: PoolView): number {
  const repliesDir = join(dir, REPLIES_DIR);
  const claimsDir = join(dir, CLAIMS_DIR);
  let removed = 0;
  const claimed = new Set<string>();
  for (const name of listOrEmpty(claimsDir)) {
    const path = join(claimsDir, name);
    const pid = claimPid(path);
    if (pid === 'unwritten' || (pid !== undefined && alive(pid))) {
      claimed.add(name);
      continue;
    }
    // Its front is gone, maybe with a watchdog left to write into the FIFO: not reused.
    pool.discard(name);
    removed += removeQuietly(path);
  }
  const present = new Set<string>();
  for (const name of listOrEmpty(repliesDir)) {
    const path = join(repliesDir, name);
    const stat = lstatOrUndefined(path);
    if (stat === undefined) continue;
    if (stat.isFIFO() && (pool.has(name) || claimed.has(name) || (/^[1-9][0-9]*$/.test(name) && alive(name)))) {
      present.add(name);
      continue;
    }
    if (stat.isFIFO()) {
      try {
        closeSync(openSync(path, constants.O_RDONLY | constants.O_NONBLOCK | constants.O_NOFOLLOW));
      } catch {
        // nobody to release
      }
    }
    removed += removeQuietly(path);
  }
  // Pool FIFOs removed by a front that gave up: the next refill makes new ones.
  for (const name of pool.names()) if (!present.has(name)) pool.discard(name);
  return removed;
}

/** What the sweep needs of the reply pool. */
export interface PoolView {
  has(name: string): boolean;
  discard(name: string): void;
  names(): string[];
}

/** The pid a claim holds; 'unwritten' for a fresh empty one (its front is writing it). */
export function claimPid(path: string): string | 'unwritten' | undefined {
  try {
    const fd = openSync(path, constants.O_RDONLY | constants.O_NOFOLLOW | constants.O_NONBLOCK);
    try {
      const stat = fstatSync(fd);
      if (!stat.isFile()) return undefined;
      // A pid and a newline: 11 bytes at most; one read of a bit more tells a longer file.
      const buffer = Buffer.alloc(16);
      const text = buffer.toString('latin1', 0, readSync(fd, buffer, 0, buffer.length, 0));
      if (text === '') return Date.now() - stat.mtimeMs < UNWRITTEN_CLAIM_MS ? 'unwritten' : undefined;
      return /^[1-9][0-9]{0,9}\n$/.test(text) ? text.slice(0, -1) : undefined;
    } finally {
      closeSync(fd);
    }
  } catch {
    return undefined;
  }
}

function alive(pid: string): boolean {
  return lstatOrUndefined(`/proc/${pid}`) !== undefined;
}

function listOrEmpty(dir: string): string[] {
  try {
    return readdirSync(dir);
  } catch {
    return [];
  }
}

function removeQuietly(path: string): number {
  try {
    unlinkSync(path);
    return 1;
  } catch {
    // raced with its front
    return 0;
  }
}
