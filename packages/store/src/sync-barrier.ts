import { execFile } from 'node:child_process';

/**
 * `fsync: 'syncfs'` (see StoreOpenOptions): one syncfs(2) of the store's file system for a whole
 * group of unpacked paths, instead of an fsync per file and directory. Through coreutils'
 * `sync -f <dir>` (8.24 and later): Node has no binding for syncfs, and it runs twice per realise,
 * so a process costs little. The agent's image carries `sync` for this.
 */
export function syncFileSystem(dir: string): Promise<void> {
  return new Promise<void>((resolve, reject) => {
    execFile('sync', ['-f', dir], { encoding: 'utf8', timeout: SYNC_TIMEOUT_MS, killSignal: 'SIGKILL' }, (err, _stdout, stderr) => {
      if (err === null) return resolve();
      const code = (err as NodeJS.ErrnoException).code;
      if (code === 'ENOENT') {
        return reject(Object.assign(new Error("no sync command on PATH: fsync 'syncfs' runs coreutils' `sync -f` (8.24 or later)"), { code: 'ENOENT' }));
      }
      const said = stderr.trim().split('\n')[0] ?? '';
      const how = err.killed ? `was killed after ${SYNC_TIMEOUT_MS} ms` : `exited with ${String(err.code ?? err.signal)}`;
      reject(Object.assign(new Error(`sync -f ${dir} ${how}${said === '' ? '' : `: ${said}`}`), { code: 'EIO' }));
    });
  });
}

// A flush of a whole file system can take long on a busy disk, but not forever: a hung device
// must fail the realise (its paths stay unregistered) rather than hold every container's start.
const SYNC_TIMEOUT_MS = 10 * 60_000;

/**
 * Group commit of unpacked paths: each path job that holds its lock says so (`hold`), and once
 * its tree is unpacked (and its record written) waits (`arrive`) until every other job holding a
 * lock has arrived too, or ended without unpacking (`release`). Then one syncfs runs for all of
 * them, trees and records, and only after it do they rename into the store: a path and its record
 * are durable before the path is visible. Jobs still waiting for a lock another process holds are
 * not counted, so two processes that each wait for the other's paths cannot wait for each other's
 * flush; they join a later group. A job that arrives while a flush runs waits for the next one,
 * which covers what it wrote.
 */
export class SyncBarrier {
  readonly #flush: () => Promise<void>;
  #holding = 0;
  #waiting: Array<{ resolve: () => void; reject: (err: unknown) => void }> = [];
  #flushing = false;
  /** Flushes started so far (read by the tests). */
  flushes = 0;

  constructor(flush: () => Promise<void>) {
    this.#flush = flush;
  }

  /** A job holds its path's lock and will unpack it (or end: then `release`). */
  hold(): void {
    this.#holding++;
  }

  /** A holding job ends without arriving (already present, failed, aborted). */
  release(): void {
    this.#holding--;
    this.#maybeFlush();
  }

  /** A holding job's tree is unpacked: resolves once a flush that started after now has succeeded. */
  arrive(): Promise<void> {
    this.#holding--;
    const done = new Promise<void>((resolve, reject) => this.#waiting.push({ resolve, reject }));
    this.#maybeFlush();
    return done;
  }

  #maybeFlush(): void {
    if (this.#flushing || this.#holding > 0 || this.#waiting.length === 0) return;
    const group = this.#waiting;
    this.#waiting = [];
    this.#flushing = true;
    this.flushes++;
    const settle = (err: unknown, failed: boolean): void => {
      this.#flushing = false;
      for (const w of group) {
        if (failed) w.reject(err);
        else w.resolve();
      }
      this.#maybeFlush();
    };
    this.#flush().then(
      () => settle(undefined, false),
      (err: unknown) => settle(err, true),
    );
  }
}
