import { existsSync, readdirSync } from 'node:fs';
import { join } from 'node:path';
import type { StoreLayout } from './layout.ts';
import { readPathInfo, removePathInfo, writePathInfo, type PathInfo } from './metadata.ts';
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
    if (!existsSync(join(this.#layout.store, base))) {
      this.#cache.delete(base);
      return undefined;
    }
    let info = this.#cache.get(base);
    if (info === undefined) {
      info = readPathInfo(this.#layout.meta, base);
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

  /** Records of every valid path (for GC and verify). */
  scan(): Map<string, PathInfo> {
    const present = new Set(readdirSync(this.#layout.store));
    const out = new Map<string, PathInfo>();
    for (const name of readdirSync(this.#layout.meta)) {
      if (name.startsWith('.') || !name.endsWith('.json')) continue;
      const base = name.slice(0, -'.json'.length);
      if (!present.has(base)) continue;
      const info = this.#cache.get(base) ?? readPathInfo(this.#layout.meta, base);
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
