// A fault injector for tests: makes chosen `node:fs` calls on chosen paths fail
// with an errno (ENOSPC, EIO, …) or write short, so every write site of the
// store can be hit precisely ("the 2nd write under meta/ fails"). It replaces
// functions on the `node:fs` module object and re-syncs the ESM named exports
// (`module.syncBuiltinESMExports`), so the code under test is exactly what
// ships: no seam in the library. Only calls on paths a fault matches are
// affected, so vitest's own file I/O is left alone. Not for worker threads
// (each has its own module instances): tests use real faults (tmpfs) there.
import fs from 'node:fs';
import fsp, { type FileHandle } from 'node:fs/promises';
import { syncBuiltinESMExports } from 'node:module';

/** The `node:fs` calls a fault can target. */
export type FsOp = 'open' | 'write' | 'fsync' | 'close' | 'rename' | 'read' | 'mkdir' | 'mkdtemp' | 'link' | 'symlink' | 'unlink' | 'readdir';

export interface Fault {
  op: FsOp;
  /** Which paths (for fd calls: the path the fd was opened with; for rename/link/symlink: either path). */
  path: RegExp;
  /** The errno to fail with. */
  errno: string;
  /** Fail from the nth matching call on (1-based, default 1). */
  nth?: number;
  /** How many calls fail (default: every one from nth on, like a full disk). */
  times?: number;
  /** For `write`: first write only this many bytes and report that (a short write), then fail as usual. */
  shortWrite?: number;
  /** Runs just before the faulted call, instead of failing it (to interleave another writer). */
  before?: () => void;
}

type AnyFn = (...args: unknown[]) => unknown;

const patched: Record<FsOp, Array<keyof typeof fs>> = {
  open: ['openSync'],
  write: ['writeSync'],
  fsync: ['fsyncSync'],
  close: ['closeSync'],
  rename: ['renameSync'],
  read: ['readFileSync'],
  mkdir: ['mkdirSync'],
  mkdtemp: ['mkdtempSync'],
  link: ['linkSync'],
  symlink: ['symlinkSync'],
  unlink: ['unlinkSync'],
  readdir: ['readdirSync'],
};

function errnoError(errno: string, syscall: string, path: string): NodeJS.ErrnoException {
  const err = new Error(`${errno}: injected fault, ${syscall} '${path}'`) as NodeJS.ErrnoException;
  err.code = errno;
  err.syscall = syscall;
  err.path = path;
  return err;
}

const asPath = (p: unknown): string => (Buffer.isBuffer(p) ? p.toString() : String(p));

/** Installed faults; `uninstall()` restores `node:fs`. */
export class FsFaultInjector {
  /** Calls that were faulted, in order: proof the fault happened. */
  readonly hits: Array<{ op: FsOp; path: string; errno: string }> = [];
  readonly #faults: Array<Fault & { seen: number; fired: number }>;
  readonly #originals = new Map<string, AnyFn>();
  readonly #fdPaths = new Map<number, string>();
  #restorePromises: (() => void) | undefined;

  private constructor(faults: Fault[]) {
    this.#faults = faults.map((f) => ({ ...f, seen: 0, fired: 0 }));
  }

  static install(...faults: Fault[]): FsFaultInjector {
    const injector = new FsFaultInjector(faults);
    injector.#patch();
    return injector;
  }

  /** The fault to apply to this call, if any (counts matching calls). */
  #match(op: FsOp, paths: string[]): (Fault & { seen: number; fired: number }) | undefined {
    for (const f of this.#faults) {
      if (f.op !== op || !paths.some((p) => f.path.test(p))) continue;
      f.seen++;
      if (f.seen < (f.nth ?? 1) || f.fired >= (f.times ?? Infinity)) continue;
      f.fired++;
      return f;
    }
    return undefined;
  }

  #patch(): void {
    const mod = fs as unknown as Record<string, AnyFn>;
    const wrap = (op: FsOp, name: string, pathsOf: (args: unknown[]) => string[], after?: (args: unknown[], result: unknown) => void): void => {
      const original = mod[name] as AnyFn;
      this.#originals.set(name, original);
      mod[name] = (...args: unknown[]): unknown => {
        const paths = pathsOf(args);
        const fault = this.#match(op, paths);
        if (fault !== undefined) {
          if (fault.before !== undefined) {
            fault.before();
          } else if (op === 'write' && fault.shortWrite !== undefined && fault.fired === 1) {
            // write(fd, buffer, offset, length): write only the first bytes and report that.
            const [fd, data, offset, length] = args as [number, Uint8Array | string, number?, number?];
            const buf = typeof data === 'string' ? Buffer.from(data) : data;
            const off = typeof offset === 'number' ? offset : 0;
            const len = Math.min(fault.shortWrite, typeof length === 'number' ? length : buf.length - off);
            this.hits.push({ op, path: paths[0] ?? '', errno: 'short' });
            return original(fd, buf, off, len);
          } else {
            this.hits.push({ op, path: paths[0] ?? '', errno: fault.errno });
            throw errnoError(fault.errno, name.replace(/Sync$/, ''), paths[0] ?? '');
          }
        }
        const result = original(...args);
        after?.(args, result);
        return result;
      };
    };
    const fdPath = (args: unknown[]): string[] => (typeof args[0] === 'number' ? [this.#fdPaths.get(args[0]) ?? ''] : [asPath(args[0])]);
    const first = (args: unknown[]): string[] => [asPath(args[0])];
    const two = (args: unknown[]): string[] => [asPath(args[0]), asPath(args[1])];
    // fs/promises: a FileHandle's sync() is the store's tree fsync (fsyncTree).
    const open = fsp.open;
    this.#restorePromises = () => {
      (fsp as { open: typeof open }).open = open;
    };
    (fsp as { open: typeof open }).open = async (...args: Parameters<typeof open>): Promise<FileHandle> => {
      const handle = await open(...args);
      const path = asPath(args[0]);
      const sync = handle.sync.bind(handle);
      handle.sync = async () => {
        const fault = this.#match('fsync', [path]);
        if (fault === undefined || fault.before !== undefined) return sync();
        this.hits.push({ op: 'fsync', path, errno: fault.errno });
        throw errnoError(fault.errno, 'fsync', path);
      };
      return handle;
    };
    for (const op of Object.keys(patched) as FsOp[]) {
      for (const name of patched[op]) {
        if (op === 'open') wrap(op, name, first, (args, fd) => this.#fdPaths.set(fd as number, asPath(args[0])));
        else if (op === 'close') wrap(op, name, fdPath, (args) => this.#fdPaths.delete(args[0] as number));
        else if (op === 'write' || op === 'fsync' || op === 'read') wrap(op, name, fdPath);
        else if (op === 'rename' || op === 'link') wrap(op, name, two);
        else if (op === 'symlink') wrap(op, name, (args) => [asPath(args[1])]);
        else wrap(op, name, first);
      }
    }
    syncBuiltinESMExports();
  }

  /** How many calls matched each fault (fired or not). */
  get seen(): number[] {
    return this.#faults.map((f) => f.seen);
  }

  uninstall(): void {
    const mod = fs as unknown as Record<string, AnyFn>;
    for (const [name, original] of this.#originals) mod[name] = original;
    this.#originals.clear();
    this.#restorePromises?.();
    syncBuiltinESMExports();
  }
}

/** Runs `fn` with the faults installed; returns its outcome (value or error) and the injector. */
export async function withFaults<T>(faults: Fault[], fn: () => Promise<T> | T): Promise<{ result?: T; error?: unknown; injector: FsFaultInjector }> {
  const injector = FsFaultInjector.install(...faults);
  try {
    return { result: await fn(), injector };
  } catch (error) {
    return { error, injector };
  } finally {
    injector.uninstall();
  }
}
