import { closeSync, constants, openSync, unlinkSync } from 'node:fs';
import { join } from 'node:path';
import { CLAIMS_DIR, POOL_PREFIX, REPLIES_DIR } from '@flox-k8s/agent-protocol';
import { lstatOrUndefined, makeFifos, type PoolView } from './fifo.ts';

export interface ReplyPoolOptions {
  /** The service directory (its replies/ holds the pool). */
  dir: string;
  /** The mkfifo command; undefined: mkfifo(3) where it loads, else `mkfifo` on PATH (fifo.ts makeFifos). */
  mkfifo: string | undefined;
  /** FIFOs kept ready (default 32). */
  size?: number | undefined;
  /** Called when a refill fails (the fronts then make their own FIFOs). */
  onError: (error: unknown) => void;
}

/**
 * Reply FIFOs made ahead of time, so the runc front claims one instead of starting a
 * `mkfifo` process per create. Names are never reused (a generation per service start
 * and a counter), so a late writer to a served FIFO finds nothing. Refills make many
 * FIFOs at once, by mkfifo(3) through koffi (a few µs each) or else with one `mkfifo` process;
 * the service starts them only while it serves no request.
 *
 * The pool holds each FIFO open read-write: the front's read-only open returns at once
 * and the answer can be written before the front has opened (no ENXIO retries); when
 * this process dies its ends close, so a front reading sees EOF, and a front still
 * opening is released by its watchdog as before.
 */
export class ReplyPool implements PoolView {
  readonly #fds = new Map<string, number>();
  readonly #generation = Date.now().toString(36);
  readonly #size: number;
  readonly #options: ReplyPoolOptions;
  #next = 0;
  #refilling: Promise<void> | undefined;

  constructor(options: ReplyPoolOptions) {
    this.#options = options;
    this.#size = options.size ?? 32;
  }

  /** Whether `name` is a pool FIFO this service made and has not handed out yet. */
  has(name: string): boolean {
    return this.#fds.has(name);
  }

  names(): string[] {
    return [...this.#fds.keys()];
  }

  /** Hands out the held end of `name` (the caller closes it); undefined when not in the pool. */
  take(name: string): number | undefined {
    const fd = this.#fds.get(name);
    this.#fds.delete(name);
    return fd;
  }

  /** `name` leaves the pool and its held end is closed (its front is gone). */
  discard(name: string): void {
    const fd = this.take(name);
    if (fd !== undefined) closeSync(fd);
  }

  /** Closes every held end and removes the FIFOs nobody claimed (the service is closing). */
  async drain(): Promise<void> {
    await this.#refilling;
    for (const [name, fd] of this.#fds) {
      closeSync(fd);
      if (lstatOrUndefined(join(this.#options.dir, CLAIMS_DIR, name)) === undefined) unlinkQuietly(join(this.#options.dir, REPLIES_DIR, name));
    }
    this.#fds.clear();
  }

  /** Tops the pool up when half of it is used; one refill at a time. */
  refill(): Promise<void> {
    if (this.#refilling !== undefined || this.#size === 0 || this.#fds.size > this.#size / 2) return this.#refilling ?? Promise.resolve();
    const names = Array.from({ length: this.#size - this.#fds.size }, () => `${POOL_PREFIX}${this.#generation}-${this.#next++}`);
    const paths = names.map((n) => join(this.#options.dir, REPLIES_DIR, n));
    this.#refilling = makeFifos(paths, this.#options.mkfifo).then((error) => {
      if (error !== undefined) this.#options.onError(error);
      // What could be made is kept.
      for (const [i, name] of names.entries()) {
        try {
          this.#fds.set(name, openSync(paths[i] as string, constants.O_RDWR | constants.O_NONBLOCK | constants.O_NOFOLLOW));
        } catch {
          // not made
        }
      }
      this.#refilling = undefined;
    });
    return this.#refilling;
  }
}

function unlinkQuietly(path: string): void {
  try {
    unlinkSync(path);
  } catch {
    // gone already
  }
}
