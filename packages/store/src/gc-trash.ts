import { randomBytes } from 'node:crypto';
import { mkdirSync, readdirSync, renameSync } from 'node:fs';
import { join } from 'node:path';
import { setImmediate as yieldToLoop } from 'node:timers/promises';
import { isDiskFull, writeFailure } from './errors.ts';
import { errnoCode, removeTreeSync } from './fs-util.ts';
import { ownerTag } from './process-owner.ts';

const BUCKET = 512;

/**
 * Where one collection puts what it deletes. Deleting is a rename (atomic) into
 * a trash directory under tmp/, in buckets of 512 so that the slow recursive
 * removal, after the GC lock is released, can yield between native `rm -r`
 * calls. Everything is tagged with this process, so a crash leaves debris that
 * Store.open removes. When the disk has no room or inode left for a directory,
 * paths are renamed straight into tmp/ (a rename needs neither): a GC that runs
 * because the disk is full must still work.
 */
export class Trash {
  readonly #tmp: string;
  readonly #tag: string;
  readonly #dryRun: boolean;
  readonly #entries: string[] = [];
  #dir: string | undefined | null = null;
  #bucket: string | undefined;
  #taken = 0;

  constructor(tmp: string, dryRun: boolean) {
    this.#tmp = tmp;
    this.#dryRun = dryRun;
    this.#tag = `${ownerTag()}-gc-${randomBytes(4).toString('hex')}`;
  }

  #mkdir(dir: string): string | undefined {
    try {
      mkdirSync(dir);
      return dir;
    } catch (err) {
      if (isDiskFull(err)) return undefined;
      throw writeFailure(err, 'creating the GC trash directory', dir);
    }
  }

  /** Renames `path` (named `name`) into the trash; false when it was already gone. */
  take(path: string, name: string): boolean {
    if (this.#dryRun) return false;
    if (this.#dir === null) {
      this.#dir = this.#mkdir(join(this.#tmp, this.#tag));
      if (this.#dir !== undefined) this.#entries.push(this.#dir);
    }
    if (this.#dir !== undefined && this.#taken % BUCKET === 0) this.#bucket = this.#mkdir(join(this.#dir, String(this.#taken / BUCKET)));
    const to = this.#bucket !== undefined ? join(this.#bucket, name) : join(this.#tmp, `${this.#tag}-${name}`);
    try {
      renameSync(path, to);
    } catch (err) {
      if (errnoCode(err) === 'ENOENT') return false;
      throw writeFailure(err, `moving ${name} out of the store`, path);
    }
    this.#taken++;
    if (this.#bucket === undefined) this.#entries.push(to);
    return true;
  }

  /** Removes everything taken; what cannot be removed now is left to Store.open once this process is gone. */
  async empty(): Promise<void> {
    for (const entry of this.#entries.splice(0)) {
      try {
        const buckets = entry === this.#dir ? readdirSync(entry) : [];
        // Node's rmSync recursion is native and much faster than the async one or
        // one call per path; it blocks, so the trash goes one bucket at a time.
        for (const bucket of buckets) {
          removeTreeSync(join(entry, bucket));
          await yieldToLoop();
        }
        removeTreeSync(entry);
      } catch {
        // out of the store already: dead-process debris for a later Store.open
      }
      await yieldToLoop();
    }
  }
}
