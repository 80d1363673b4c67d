import { lstatSync, readdirSync, type Dirent, type Stats } from 'node:fs';
import { join } from 'node:path';
import type { StoreLayout } from './layout.ts';
import { readPathInfo, removePathInfo, writePathInfo, type PathInfo, type RootType } from './metadata.ts';
import { ownerTag } from './process-owner.ts';

/**
 * Which paths are valid. A path is valid when its directory is in the store
 * and its metadata exists; metadata is written before the rename that makes a
 * path visible and removed after the rename that hides it, so the directory's
 * presence is the commit point. Records are immutable, so they are cached;
 * presence is checked on every call because other processes may collect.
 */
export class PathRegistry {
  readonly #layout: StoreLayout;
  readonly #cache = new Map<string, PathInfo>();

  constructor(layout: StoreLayout) {
    this.#layout = layout;
  }

  /** Host directory of a base name. */
  hostPath(base: string): string {
    return join(this.#layout.store, base);
  }

  /** The record of a valid path, or undefined. */
  valid(base: string): PathInfo | undefined {
    // lstat, not exists: a symlink root is present whatever it points at on the host.
    const st = lstatSync(join(this.#layout.store, base), { throwIfNoEntry: false });
    if (st === undefined) {
      this.#cache.delete(base);
      return undefined;
    }
    let info = this.#cache.get(base);
    if (info === undefined) {
      info = readPathInfo(this.#layout.meta, base, rootTypeOf(st));
      if (info === undefined) return undefined; // an unregistered directory is never valid
      this.#cache.set(base, info);
    }
    return info;
  }

  /** Writes the record of a path about to become visible. */
  record(base: string, info: Omit<PathInfo, 'lastUse'>, durable: boolean): void {
    writePathInfo(this.#layout.meta, base, info, ownerTag(), durable);
    this.#cache.set(base, { ...info, lastUse: info.registrationTime });
  }

  /** Drops the record of a path that is no longer visible. */
  forget(base: string): void {
    this.#cache.delete(base);
    removePathInfo(this.#layout.meta, base);
  }

  /** Records of every valid path (for GC and verify); bases of records without their path go to `orphans`. */
  scan(orphans?: string[]): Map<string, PathInfo> {
    const present = new Map(readdirSync(this.#layout.store, { withFileTypes: true }).map((d) => [d.name, d] as const));
    const out = new Map<string, PathInfo>();
    for (const name of readdirSync(this.#layout.meta)) {
      if (name.startsWith('.') || !name.endsWith('.json')) continue;
      const base = name.slice(0, -'.json'.length);
      const entry = present.get(base);
      if (entry === undefined) {
        orphans?.push(base);
        continue;
      }
      const info = this.#cache.get(base) ?? readPathInfo(this.#layout.meta, base, rootTypeOf(entry));
      if (info === undefined) continue;
      out.set(base, info);
      this.#cache.set(base, info);
    }
    return out;
  }

  /** Every directory entry of the store (valid or not). */
  storeEntries(): string[] {
    return readdirSync(this.#layout.store);
  }
}

/** What a store path's root is, from its lstat or directory entry. */
export function rootTypeOf(st: Stats | Dirent): RootType {
  return st.isSymbolicLink() ? 'symlink' : st.isDirectory() ? 'directory' : 'regular';
}

/** Whether a store directory entry exists (a symlink counts, whatever it points at). */
export function present(path: string): boolean {
  return lstatSync(path, { throwIfNoEntry: false }) !== undefined;
}
