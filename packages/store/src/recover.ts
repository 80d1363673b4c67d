import { existsSync, readdirSync, unlinkSync } from 'node:fs';
import { join } from 'node:path';
import { clearIfStale, tryLock, unlock } from './file-lock.ts';
import { removeTreeSync } from './fs-util.ts';
import type { StoreLayout } from './layout.ts';
import { metaFile } from './metadata.ts';
import { ownerAlive, ownerFromTag } from './process-owner.ts';
import { readInflight } from './roots.ts';

/** What `Store.open` cleaned up after earlier crashes. */
export interface RecoveryReport {
  tempEntries: number;
  staleLocks: number;
  orphanMetadata: number;
}

// Temp files written beside their final name: `.<name>.<pid>-<start>.tmp`.
const TAG_IN_DOTFILE = /^\..*\.(\d+-\d+)\.tmp$/;

function deadTag(name: string): boolean {
  const owner = ownerFromTag(name);
  return owner === undefined || !ownerAlive(owner);
}

function removeDeadDotTemps(dir: string): number {
  let n = 0;
  for (const name of readdirSync(dir)) {
    const m = TAG_IN_DOTFILE.exec(name);
    if (!m?.[1] || !deadTag(`${m[1]}-`)) continue;
    try {
      unlinkSync(join(dir, name));
      n++;
    } catch {
      // removed by a concurrent recovery
    }
  }
  return n;
}

/**
 * Cleans what crashed processes left: their temp dirs (partial downloads,
 * half-built profiles, GC trash), their locks and in-flight roots, and
 * metadata written just before a rename that never happened. Work of live
 * processes is recognised by the owner tag and left alone.
 */
export function recoverStore(layout: StoreLayout): RecoveryReport {
  const report: RecoveryReport = { tempEntries: 0, staleLocks: 0, orphanMetadata: 0 };
  for (const name of readdirSync(layout.tmp)) {
    if (!deadTag(name)) continue;
    removeTreeSync(join(layout.tmp, name));
    report.tempEntries++;
  }
  for (const name of readdirSync(layout.locks)) {
    const file = join(layout.locks, name);
    if (name.endsWith('.lock')) {
      if (clearIfStale(file)) report.staleLocks++;
    } else if (name.startsWith('.') && deadTag(name.slice(1))) {
      // a lock's temp file or a broken lock set aside by a process killed mid-way
      try {
        unlinkSync(file);
        report.tempEntries++;
      } catch {
        // removed by a concurrent recovery
      }
    }
  }
  if (clearIfStale(join(layout.root, 'gc.lock'))) report.staleLocks++;
  // the GC lock's temp files live beside it
  for (const name of readdirSync(layout.root)) {
    if (!name.startsWith('.') || !(name.endsWith('.tmp') || name.endsWith('.aside')) || !deadTag(name.slice(1))) continue;
    try {
      unlinkSync(join(layout.root, name));
      report.tempEntries++;
    } catch {
      // removed by a concurrent recovery
    }
  }
  readInflight(layout);
  report.tempEntries += removeDeadDotTemps(layout.meta);
  report.tempEntries += removeDeadDotTemps(layout.leases);
  report.tempEntries += removeDeadDotTemps(layout.pins);
  // Metadata without its path only exists after a crash between the two steps
  // of a registration or a deletion; both leave temp debris or a stale lock, so
  // a clean start skips this scan (it reads the whole metadata directory).
  if (report.tempEntries === 0 && report.staleLocks === 0) return report;
  const present = new Set(readdirSync(layout.store));
  for (const name of readdirSync(layout.meta)) {
    if (name.startsWith('.') || !name.endsWith('.json')) continue;
    const base = name.slice(0, -'.json'.length);
    if (present.has(base)) continue;
    // Metadata without its path: the writer died before the rename (or a GC
    // died after it). Only remove it while holding the path's lock, so a live
    // writer between its two steps is never disturbed.
    const lockFile = join(layout.locks, `${base}.lock`);
    if (!tryLock(lockFile)) continue;
    try {
      if (!existsSync(join(layout.store, base))) {
        unlinkSync(metaFile(layout.meta, base));
        report.orphanMetadata++;
      }
    } catch {
      // removed concurrently
    } finally {
      unlock(lockFile);
    }
  }
  return report;
}
