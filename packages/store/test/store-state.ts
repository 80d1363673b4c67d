// Assertions on a store root's on-disk state after a failure or a crash.
import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { expect } from 'vitest';
import { Store } from '../src/store.ts';
import { heldLocks } from './helpers.ts';

/** Every file and directory below `dir` (relative paths). */
export function walk(dir: string, rel = ''): string[] {
  const out: string[] = [];
  for (const d of readdirSync(join(dir, rel), { withFileTypes: true })) {
    const r = rel === '' ? d.name : `${rel}/${d.name}`;
    out.push(r);
    if (d.isDirectory()) out.push(...walk(dir, r));
  }
  return out;
}

/** Files that are neither a complete store object nor a root: temp files, set-aside locks. */
export function debris(root: string): string[] {
  return walk(root).filter((r) => /\.(tmp|aside)$/.test(r) || r.startsWith('tmp/'));
}

/**
 * Nothing half-written is left: no temp file anywhere, no lock held, no
 * in-flight root, no record without its path (or path without its record),
 * every valid path complete and verified, every root readable (GC runs).
 */
export async function expectNothingHalfWritten(root: string, opts: { gc?: boolean } = {}): Promise<Store> {
  expect(debris(root)).toEqual([]);
  expect(heldLocks(root)).toEqual([]);
  expect(readdirSync(join(root, 'roots', 'inflight'))).toEqual([]);
  const meta = readdirSync(join(root, 'meta')).map((n) => n.replace(/\.json$/, '')).sort();
  expect(meta).toEqual(readdirSync(join(root, 'store')).sort());
  for (const dir of ['leases', 'pins']) {
    for (const name of readdirSync(join(root, 'roots', dir))) expect(() => JSON.parse(readFileSync(join(root, 'roots', dir, name), 'utf8'))).not.toThrow();
  }
  const store = await Store.open(root);
  expect(store.recovered).toEqual({ tempEntries: 0, staleLocks: 0, orphanMetadata: 0 });
  expect(await store.verify()).toMatchObject({ ok: true, corrupt: [], incomplete: [], unregistered: [] });
  if (opts.gc !== false) await store.gc({ dryRun: true });
  return store;
}
