import { join } from 'node:path';
import { z } from 'zod';
import { writeFileAtomic } from './atomic-file.ts';
import { StoreOptionsError } from './errors.ts';
import { ownerTag } from './process-owner.ts';
import { removeFileIfPresent } from './fs-util.ts';
import type { StoreLayout } from './layout.ts';

const idSchema = z.string().min(1).max(512);

// Lease ids and pin names come from callers (pod UIDs, environment refs): the
// file name encodes them so no id can escape the directory.
export function rootFileName(id: string, kind: string): string {
  const parsed = idSchema.safeParse(id);
  if (!parsed.success) throw new StoreOptionsError(`${kind} id: expected 1..512 characters, found ${JSON.stringify(id)}`);
  return `${Buffer.from(id, 'utf8').toString('base64url')}.json`;
}

// Leases and pins are what keep running containers' closures alive: durable (fsync) and atomic.
function writeRoot(dir: string, name: string, value: unknown, what: string): void {
  writeFileAtomic({ dir, name, tmpName: `.${name}.${ownerTag()}.tmp`, data: JSON.stringify(value), durable: true, what });
}

/** A lease as stored. */
export interface Lease {
  id: string;
  roots: string[];
  expiresAt: number;
}

/** Writes (or renews) a lease. */
export function writeLease(layout: StoreLayout, id: string, roots: string[], ttlMs: number, now: number): Lease {
  if (!Number.isFinite(ttlMs) || ttlMs <= 0) throw new StoreOptionsError(`lease ttlMs: expected a positive number, found ${ttlMs}`);
  const lease = { id, roots: [...roots], expiresAt: now + ttlMs };
  writeRoot(layout.leases, rootFileName(id, 'lease'), lease, `the lease ${JSON.stringify(id)}`);
  return lease;
}

/** Removes a lease; false if there was none. */
export function removeLease(layout: StoreLayout, id: string): boolean {
  return removeFileIfPresent(join(layout.leases, rootFileName(id, 'lease')), `the lease ${JSON.stringify(id)}`);
}

/** Writes a pin (a permanent root). */
export function writePin(layout: StoreLayout, name: string, roots: string[]): void {
  writeRoot(layout.pins, rootFileName(name, 'pin'), { name, roots: [...roots] }, `the pin ${JSON.stringify(name)}`);
}

/** Removes a pin; false if there was none. */
export function removePin(layout: StoreLayout, name: string): boolean {
  return removeFileIfPresent(join(layout.pins, rootFileName(name, 'pin')), `the pin ${JSON.stringify(name)}`);
}

let inflightSeq = 0;

/**
 * A temporary root held by a realise in progress, named after its process so
 * a crashed realise's root is recognised as dead. Rewritten as the closure grows.
 */
export class InflightRoot {
  readonly file: string;
  readonly #dir: string;
  readonly #name: string;

  constructor(layout: StoreLayout) {
    this.#dir = layout.inflight;
    this.#name = `${ownerTag()}-${++inflightSeq}.json`;
    this.file = join(layout.inflight, this.#name);
  }

  /** Replaces the set of protected paths. */
  set(paths: readonly string[]): void {
    // No fsync: after a crash the root is dead anyway, it only has to be visible to a live GC.
    writeFileAtomic({
      dir: this.#dir,
      name: this.#name,
      tmpName: `${this.#name}.tmp`,
      data: JSON.stringify({ paths }),
      durable: false,
      what: 'an in-flight root',
    });
  }

  remove(): void {
    removeFileIfPresent(this.file, 'an in-flight root');
    removeFileIfPresent(`${this.file}.tmp`, 'an in-flight root');
  }
}
