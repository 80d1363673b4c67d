import { closeSync, fsyncSync, openSync, readFileSync, renameSync, unlinkSync, writeSync } from 'node:fs';
import { join } from 'node:path';
import { StoreMetadataError } from './errors.ts';
import { fsyncDir } from './fs-util.ts';

/**
 * What the store records about a valid path. One JSON file per path at
 * `meta/<hash>-<name>.json`, written to a temp name, fsynced and renamed: a
 * reader sees either nothing or the whole record, and a crash never leaves a
 * half-written record. Records are never rewritten: the last use of a path is
 * the later of its registration and the mtime of the closure index entries
 * holding it (one utimes per realised closure instead of one per path).
 */
export interface PathInfo {
  storePath: string;
  narHash: string;
  narSize: number;
  /** Full store paths (the narinfo's basenames resolved against the store dir). */
  references: string[];
  /** Milliseconds since the epoch. */
  registrationTime: number;
  /** Milliseconds since the epoch: registration, or the latest realise of a closure holding the path. */
  lastUse: number;
  deriver?: string | undefined;
  ca?: string | undefined;
}

// Records are written by this package only, and read on every cold realise
// (hundreds per closure): a hand-written shape check is several times faster
// than a schema library here, and just as strict.
function isRecord(v: unknown): v is Omit<PathInfo, 'lastUse'> & { version: 1 } {
  if (typeof v !== 'object' || v === null) return false;
  const r = v as Record<string, unknown>;
  return (
    r['version'] === 1 &&
    typeof r['storePath'] === 'string' &&
    typeof r['narHash'] === 'string' &&
    r['narHash'].startsWith('sha256:') &&
    Number.isSafeInteger(r['narSize']) &&
    (r['narSize'] as number) >= 0 &&
    Array.isArray(r['references']) &&
    r['references'].every((x) => typeof x === 'string') &&
    typeof r['registrationTime'] === 'number' &&
    (r['deriver'] === undefined || typeof r['deriver'] === 'string') &&
    (r['ca'] === undefined || typeof r['ca'] === 'string')
  );
}

/** Metadata file of a store base name. */
export function metaFile(metaDir: string, base: string): string {
  return join(metaDir, `${base}.json`);
}

/** Reads a path's record; undefined when it has none. */
export function readPathInfo(metaDir: string, base: string): PathInfo | undefined {
  const file = metaFile(metaDir, base);
  let text: string;
  try {
    text = readFileSync(file, 'utf8');
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'ENOENT') return undefined;
    throw err;
  }
  let record: unknown;
  try {
    record = JSON.parse(text);
  } catch (cause) {
    throw new StoreMetadataError(`metadata ${file} is not JSON; delete it and the path, then realise again`, { cause });
  }
  if (!isRecord(record)) {
    throw new StoreMetadataError(`metadata ${file} does not have the fields of a version 1 record; delete it and the path, then realise again`);
  }
  return {
    storePath: record.storePath,
    narHash: record.narHash,
    narSize: record.narSize,
    references: record.references,
    registrationTime: record.registrationTime,
    lastUse: record.registrationTime,
    ...(record.deriver === undefined ? {} : { deriver: record.deriver }),
    ...(record.ca === undefined ? {} : { ca: record.ca }),
  };
}

/** Writes a path's record (temp file + rename; with `durable`, fsync of the file and the directory too). */
export function writePathInfo(metaDir: string, base: string, info: Omit<PathInfo, 'lastUse'>, tmpTag: string, durable = true): void {
  const file = metaFile(metaDir, base);
  const tmp = join(metaDir, `.${base}.${tmpTag}.tmp`);
  const record = {
    version: 1,
    storePath: info.storePath,
    narHash: info.narHash,
    narSize: info.narSize,
    references: info.references,
    registrationTime: info.registrationTime,
    ...(info.deriver === undefined ? {} : { deriver: info.deriver }),
    ...(info.ca === undefined ? {} : { ca: info.ca }),
  };
  const fd = openSync(tmp, 'w', 0o644);
  try {
    writeSync(fd, JSON.stringify(record));
    if (durable) fsyncSync(fd);
  } finally {
    closeSync(fd);
  }
  renameSync(tmp, file);
  if (durable) fsyncDir(metaDir);
}

/** Removes a path's record (missing is fine). */
export function removePathInfo(metaDir: string, base: string): void {
  try {
    unlinkSync(metaFile(metaDir, base));
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code !== 'ENOENT') throw err;
  }
}
