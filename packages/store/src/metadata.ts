import { closeSync, fsyncSync, openSync, readFileSync, renameSync, statSync, unlinkSync, utimesSync, writeSync } from 'node:fs';
import { join } from 'node:path';
import { z } from 'zod';
import { StoreMetadataError } from './errors.ts';
import { fsyncDir } from './fs-util.ts';

/**
 * What the store records about a valid path. One JSON file per path at
 * `meta/<hash>-<name>.json`, written to a temp name, fsynced and renamed: a
 * reader sees either nothing or the whole record, and a crash never leaves a
 * half-written record. Last use is the file's mtime (one utimes call, no rewrite).
 */
export interface PathInfo {
  storePath: string;
  narHash: string;
  narSize: number;
  /** Full store paths (the narinfo's basenames resolved against the store dir). */
  references: string[];
  /** Milliseconds since the epoch. */
  registrationTime: number;
  /** Milliseconds since the epoch (mtime of the metadata file). */
  lastUse: number;
  deriver?: string | undefined;
  ca?: string | undefined;
}

const recordSchema = z.object({
  version: z.literal(1),
  storePath: z.string(),
  narHash: z.string().regex(/^sha256:/),
  narSize: z.number().int().nonnegative(),
  references: z.array(z.string()),
  registrationTime: z.number(),
  deriver: z.string().optional(),
  ca: z.string().optional(),
});

/** Metadata file of a store base name. */
export function metaFile(metaDir: string, base: string): string {
  return join(metaDir, `${base}.json`);
}

/** Reads a path's record; undefined when it has none. */
export function readPathInfo(metaDir: string, base: string): PathInfo | undefined {
  const file = metaFile(metaDir, base);
  let text: string;
  let mtimeMs: number;
  try {
    text = readFileSync(file, 'utf8');
    mtimeMs = statSync(file).mtimeMs;
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'ENOENT') return undefined;
    throw err;
  }
  let record;
  try {
    record = recordSchema.parse(JSON.parse(text));
  } catch (cause) {
    throw new StoreMetadataError(`metadata ${file} is not a valid record; delete it and the path, then realise again`, {
      cause,
    });
  }
  const { version: _version, ...rest } = record;
  return { ...rest, lastUse: mtimeMs };
}

/** Durably writes a path's record (temp file + fsync + rename + directory fsync). */
export function writePathInfo(metaDir: string, base: string, info: Omit<PathInfo, 'lastUse'>, tmpTag: string): void {
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
    fsyncSync(fd);
  } finally {
    closeSync(fd);
  }
  renameSync(tmp, file);
  fsyncDir(metaDir);
}

/** Records a use now. */
export function touchPathInfo(metaDir: string, base: string, now: Date): void {
  try {
    utimesSync(metaFile(metaDir, base), now, now);
  } catch (err) {
    // Deleted by a GC in the meantime: nothing to record.
    if ((err as NodeJS.ErrnoException).code !== 'ENOENT') throw err;
  }
}

/** Removes a path's record (missing is fine). */
export function removePathInfo(metaDir: string, base: string): void {
  try {
    unlinkSync(metaFile(metaDir, base));
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code !== 'ENOENT') throw err;
  }
}
