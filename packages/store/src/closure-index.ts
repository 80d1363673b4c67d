import { createHash } from 'node:crypto';
import { readdirSync, readFileSync, statSync, unlinkSync, utimesSync } from 'node:fs';
import { join } from 'node:path';
import { writeFileAtomic } from './atomic-file.ts';
import type { StoreLayout } from './layout.ts';
import { ownerTag } from './process-owner.ts';
import { present } from './registry.ts';

// Uses closer together than this are not recorded again (GC's LRU needs minutes, not ms).
const TOUCH_GRANULARITY_MS = 60_000;

/**
 * A cache of "the closure of these requested paths", one small file per
 * distinct request (in practice: per environment). References never change,
 * so an entry is always correct; whether its paths are still valid is checked
 * on every use. It lets a warm realise skip reading hundreds of metadata
 * records, and its mtime records the last use of the whole closure in one
 * syscall (GC takes it into account for LRU order).
 */
export class ClosureIndex {
  readonly #dir: string;
  readonly #store: string;

  constructor(layout: StoreLayout) {
    this.#dir = join(layout.root, 'closures');
    this.#store = layout.store;
  }

  static key(requested: readonly string[]): string {
    return createHash('sha256').update([...requested].sort().join('\n')).digest('hex').slice(0, 32);
  }

  /** The cached closure when every path of it is still in the store; undefined otherwise. */
  lookup(key: string, storeDirLength: number): string[] | undefined {
    const file = join(this.#dir, `${key}.json`);
    let closure: unknown;
    try {
      closure = (JSON.parse(readFileSync(file, 'utf8')) as { closure?: unknown }).closure;
    } catch {
      return undefined;
    }
    if (!Array.isArray(closure)) return undefined;
    for (const p of closure) {
      // A path's directory is its commit point: present means valid (see PathRegistry).
      if (typeof p !== 'string' || !present(join(this.#store, p.slice(storeDirLength + 1)))) return undefined;
    }
    return closure as string[];
  }

  /** Records a use of the closure now (cheap: one stat, at most one utimes). */
  touch(key: string, now: number = Date.now()): void {
    const file = join(this.#dir, `${key}.json`);
    try {
      if (now - statSync(file).mtimeMs < TOUCH_GRANULARITY_MS) return;
      const date = new Date(now);
      utimesSync(file, date, date);
    } catch {
      // removed by a GC meanwhile: the next slow realise writes it again
    }
  }

  /**
   * Stores a closure (a cache: no fsync). Written like every other store file,
   * complete or not at all: a failure is a coded error and leaves no temp file.
   */
  write(key: string, requested: readonly string[], closure: readonly string[]): void {
    writeFileAtomic({
      dir: this.#dir,
      name: `${key}.json`,
      tmpName: `.${key}.${ownerTag()}.tmp`,
      data: JSON.stringify({ roots: [...requested].sort(), closure }),
      durable: false,
      what: 'a closure index entry',
    });
  }

  /** Every entry with its last use (mtime), for GC. */
  entries(): Array<{ file: string; closure: string[]; lastUse: number }> {
    const out: Array<{ file: string; closure: string[]; lastUse: number }> = [];
    for (const name of readdirSync(this.#dir)) {
      if (name.startsWith('.') || !name.endsWith('.json')) continue;
      const file = join(this.#dir, name);
      try {
        const closure = (JSON.parse(readFileSync(file, 'utf8')) as { closure?: unknown }).closure;
        if (Array.isArray(closure)) out.push({ file, closure: closure as string[], lastUse: statSync(file).mtimeMs });
      } catch {
        // removed meanwhile or torn: ignore
      }
    }
    return out;
  }

  remove(file: string): void {
    try {
      unlinkSync(file);
    } catch {
      // already gone
    }
  }
}
