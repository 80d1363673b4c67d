import { closeSync, fsyncSync, openSync, readdirSync, readFileSync, renameSync, unlinkSync, writeSync } from 'node:fs';
import { join } from 'node:path';
import { z } from 'zod';
import { StoreOptionsError } from './errors.ts';
import { errnoCode, fsyncDir } from './fs-util.ts';
import { ownerAlive, ownerFromTag, ownerTag } from './process-owner.ts';
import type { StoreLayout } from './layout.ts';

const idSchema = z.string().min(1).max(512);

// Lease ids and pin names come from callers (pod UIDs, environment refs): the
// file name encodes them so no id can escape the directory.
function fileName(id: string, kind: string): string {
  const parsed = idSchema.safeParse(id);
  if (!parsed.success) throw new StoreOptionsError(`${kind} id: expected 1..512 characters, found ${JSON.stringify(id)}`);
  return `${Buffer.from(id, 'utf8').toString('base64url')}.json`;
}

function writeAtomic(dir: string, name: string, value: unknown): void {
  const tmp = join(dir, `.${name}.${ownerTag()}.tmp`);
  const fd = openSync(tmp, 'w', 0o644);
  try {
    writeSync(fd, JSON.stringify(value));
    fsyncSync(fd);
  } finally {
    closeSync(fd);
  }
  renameSync(tmp, join(dir, name));
  fsyncDir(dir);
}

function removeFile(file: string): boolean {
  try {
    unlinkSync(file);
    return true;
  } catch (err) {
    if (errnoCode(err) === 'ENOENT') return false;
    throw err;
  }
}

function readJsonDir(dir: string): Array<{ name: string; value: unknown }> {
  const out: Array<{ name: string; value: unknown }> = [];
  for (const name of readdirSync(dir)) {
    if (name.startsWith('.') || !name.endsWith('.json')) continue;
    try {
      out.push({ name, value: JSON.parse(readFileSync(join(dir, name), 'utf8')) });
    } catch {
      // removed meanwhile, or not ours: not a root
    }
  }
  return out;
}

const leaseSchema = z.object({ id: z.string(), roots: z.array(z.string()), expiresAt: z.number() });
const pinSchema = z.object({ name: z.string(), roots: z.array(z.string()) });
const inflightSchema = z.object({ paths: z.array(z.string()) });

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
  writeAtomic(layout.leases, fileName(id, 'lease'), lease);
  return lease;
}

/** Removes a lease; false if there was none. */
export function removeLease(layout: StoreLayout, id: string): boolean {
  return removeFile(join(layout.leases, fileName(id, 'lease')));
}

/** Writes a pin (a permanent root). */
export function writePin(layout: StoreLayout, name: string, roots: string[]): void {
  writeAtomic(layout.pins, fileName(name, 'pin'), { name, roots: [...roots] });
}

/** Removes a pin; false if there was none. */
export function removePin(layout: StoreLayout, name: string): boolean {
  return removeFile(join(layout.pins, fileName(name, 'pin')));
}

/** All leases, expired ones included. */
export function readLeases(layout: StoreLayout): Lease[] {
  return readJsonDir(layout.leases).flatMap(({ value }) => {
    const r = leaseSchema.safeParse(value);
    return r.success ? [r.data] : [];
  });
}

/** All pins. */
export function readPins(layout: StoreLayout): Array<{ name: string; roots: string[] }> {
  return readJsonDir(layout.pins).flatMap(({ value }) => {
    const r = pinSchema.safeParse(value);
    return r.success ? [r.data] : [];
  });
}

let inflightSeq = 0;

/**
 * A temporary root held by a realise in progress, named after its process so
 * a crashed realise's root is recognised as dead. Rewritten as the closure grows.
 */
export class InflightRoot {
  readonly file: string;
  readonly #layout: StoreLayout;

  constructor(layout: StoreLayout) {
    this.#layout = layout;
    this.file = join(layout.inflight, `${ownerTag()}-${++inflightSeq}.json`);
  }

  /** Replaces the set of protected paths. */
  set(paths: readonly string[]): void {
    // No fsync: after a crash the root is dead anyway, it only has to be visible to a live GC.
    const tmp = `${this.file}.tmp`;
    const fd = openSync(tmp, 'w', 0o644);
    try {
      writeSync(fd, JSON.stringify({ paths }));
    } finally {
      closeSync(fd);
    }
    renameSync(tmp, this.file);
  }

  remove(): void {
    removeFile(this.file);
    removeFile(`${this.file}.tmp`);
  }
}

/** Paths held by realises of live processes; removes the roots of dead ones. */
export function readInflight(layout: StoreLayout): string[] {
  const out: string[] = [];
  for (const name of readdirSync(layout.inflight)) {
    const owner = ownerFromTag(name);
    const file = join(layout.inflight, name);
    if (!owner || !ownerAlive(owner)) {
      removeFile(file);
      continue;
    }
    if (!name.endsWith('.json')) continue;
    try {
      const r = inflightSchema.safeParse(JSON.parse(readFileSync(file, 'utf8')));
      if (r.success) out.push(...r.data.paths);
    } catch {
      // finished meanwhile
    }
  }
  return out;
}
