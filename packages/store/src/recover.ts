import { readdirSync, unlinkSync } from 'node:fs';
import { join } from 'node:path';
import { clearIfStale, tryLock, unlock } from './file-lock.ts';
import { removeTreeSync } from './fs-util.ts';
import type { StoreLayout } from './layout.ts';
import { metaFile } from './metadata.ts';
import { ownerAlive, ownerFromTag } from './process-owner.ts';
import { present } from './registry.ts';
import { removeDeadInflight } from './root-reader.ts';

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
  // the GC lock's owner links (and earlier versions' temp files) live beside it
  for (const name of readdirSync(layout.root)) {
    if (!name.startsWith('.') || !/\.(tmp|aside)$|-owner$/.test(name) || !deadTag(name.slice(1))) continue;
    try {
      unlinkSync(join(layout.root, name));
      report.tempEntries++;
    } catch {
      // removed by a concurrent recovery
    }
  }
  removeDeadInflight(layout);
  report.tempEntries += removeDeadDotTemps(layout.meta);
  report.tempEntries += removeDeadDotTemps(layout.leases);
  report.tempEntries += removeDeadDotTemps(layout.pins);
  report.tempEntries += removeDeadDotTemps(join(layout.root, 'closures'));
  // Metadata without its path only exists after a crash between the two steps
  // of a registration or a deletion; both leave temp debris or a stale lock, so
  // a clean start skips this scan (it reads the whole metadata directory).
  if (report.tempEntries === 0 && report.staleLocks === 0) return report;
  const inStore = new Set(readdirSync(layout.store));
  for (const name of readdirSync(layout.meta)) {
    if (name.startsWith('.') || !name.endsWith('.json')) continue;
    const base = name.slice(0, -'.json'.length);
    if (!inStore.has(base) && removeOrphanRecord(layout, base)) report.orphanMetadata++;
  }
  return report;
}

/**
 * Removes the record of a path that is not in the store: the writer died
 * before its rename, or a GC died (or failed) after moving the path out. Only
 * while holding the path's lock, so a live writer between its two steps is
 * never disturbed. Best effort: false when it stays.
 */
export function removeOrphanRecord(layout: StoreLayout, base: string): boolean {
  const lockFile = join(layout.locks, `${base}.lock`);
  try {
    if (!tryLock(lockFile)) return false;
  } catch {
    return false;
  }
  try {
    if (present(join(layout.store, base))) return false;
    unlinkSync(metaFile(layout.meta, base));
    return true;
  } catch {
    return false; // removed concurrently, or the disk refuses
  } finally {
    try {
      unlock(lockFile);
    } catch {
      // a stale lock of a live process is broken once it is gone
    }
  }
}
