import { readFileSync, unlinkSync } from 'node:fs';
import { join } from 'node:path';
import { writeFileAtomic } from './atomic-file.ts';
import { StoreMetadataError, writeFailure } from './errors.ts';

/** The kind of a store path's root, as in its NAR: a directory, a regular file, or a symlink. */
export type RootType = 'directory' | 'regular' | 'symlink';

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
  /**
   * What the path's root is. A symlink root (legal in Nix) must never be
   * bind-mounted as is: the mount would follow it on the host.
   */
  rootType: RootType;
}

const ROOT_TYPES: ReadonlySet<unknown> = new Set(['directory', 'regular', 'symlink']);

// Records are written by this package only, and read on every cold realise
// (hundreds per closure): a hand-written shape check is several times faster
// than a schema library here, and just as strict.
function isRecord(v: unknown): v is Omit<PathInfo, 'lastUse' | 'rootType'> & { version: 1; rootType?: RootType } {
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
    (r['ca'] === undefined || typeof r['ca'] === 'string') &&
    (r['rootType'] === undefined || ROOT_TYPES.has(r['rootType']))
  );
}

/** Metadata file of a store base name. */
export function metaFile(metaDir: string, base: string): string {
  return join(metaDir, `${base}.json`);
}

/**
 * Reads a path's record; undefined when it has none. Records written before
 * `rootType` was recorded get `fallbackRootType` (the registry lstats the path).
 */
export function readPathInfo(metaDir: string, base: string, fallbackRootType: RootType): PathInfo | undefined {
  const file = metaFile(metaDir, base);
  let text: string;
  try {
    text = readFileSync(file, 'utf8');
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'ENOENT') return undefined;
    throw new StoreMetadataError(`metadata ${file} cannot be read (${(err as NodeJS.ErrnoException).code ?? 'error'}); check the disk`, { cause: err });
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
    rootType: record.rootType ?? fallbackRootType,
  };
}

/** Writes a path's record (temp file + rename; with `durable`, fsync of the file and the directory too). */
export function writePathInfo(metaDir: string, base: string, info: Omit<PathInfo, 'lastUse'>, tmpTag: string, durable = true): void {
  const record = {
    version: 1,
    storePath: info.storePath,
    narHash: info.narHash,
    narSize: info.narSize,
    references: info.references,
    registrationTime: info.registrationTime,
    ...(info.deriver === undefined ? {} : { deriver: info.deriver }),
    ...(info.ca === undefined ? {} : { ca: info.ca }),
    rootType: info.rootType,
  };
  writeFileAtomic({ dir: metaDir, name: `${base}.json`, tmpName: `.${base}.${tmpTag}.tmp`, data: JSON.stringify(record), durable, what: `the metadata of ${info.storePath}` });
}

/** Removes a path's record (missing is fine). */
export function removePathInfo(metaDir: string, base: string): void {
  try {
    unlinkSync(metaFile(metaDir, base));
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code !== 'ENOENT') throw writeFailure(err, `removing the metadata of ${base}`, metaFile(metaDir, base));
  }
}
