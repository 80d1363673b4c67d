import { closeSync, fstatSync, openSync, readSync, statSync } from 'node:fs';
import { join } from 'node:path';
import type { DirSource } from '@flox-k8s/config';
import { EnvironmentSourceError } from './errors.ts';
import { lockfileBytesDigest } from './layout.ts';
import type { SourceReader } from './types.ts';

/**
 * A directory on the node with the hub layout (air-gapped clusters, tests).
 * Reads are synchronous: a few small local files, on the container-start path,
 * where a trip through libuv's thread pool costs more than the read.
 */
export function dirSourceReader(source: DirSource): SourceReader {
  const label = `dir ${source.path}`;
  return {
    label,
    read(relativePath, limit) {
      return Promise.resolve().then(() => readLimited(join(source.path, relativePath), relativePath, limit, label)?.bytes);
    },
    readLockfile(relativePath, limit) {
      return Promise.resolve().then(() => readLockfileCached(join(source.path, relativePath), relativePath, limit, label));
    },
  };
}

/** What identifies a file's content without reading it: any write changes size, mtime or ctime; a replaced file is another inode. */
interface FileIdentity {
  dev: bigint;
  ino: bigint;
  size: bigint;
  mtimeNs: bigint;
  ctimeNs: bigint;
}

const sameFile = (a: FileIdentity, b: FileIdentity): boolean => a.dev === b.dev && a.ino === b.ino && a.size === b.size && a.mtimeNs === b.mtimeNs && a.ctimeNs === b.ctimeNs;

// Lockfiles read before, with their digests, while the file stays the same (one stat instead of a
// read and a sha256 of up to MAX_LOCKFILE_BYTES on every container start of a long-lived process,
// the node agent's patch service; a realistic lockfile is 200 KB). Bounded in entries and bytes;
// the least recently used goes first. Callers get a copy: what they do with it stays theirs.
// Publishing writes a generation once and renames it in (a new inode). What this cannot see: a
// rewrite in place to the same size within one tick of the file system's clock (a few ms) of the
// read it follows; the answer is then the earlier content with its own digest (a pin still checks).
const MAX_CACHED_LOCKFILES = 64;
const MAX_CACHED_BYTES = 32 * 1024 * 1024;
const lockfiles = new Map<string, { identity: FileIdentity; bytes: Uint8Array; digest: string }>();
let cachedBytes = 0;

function readLockfileCached(path: string, relativePath: string, limit: number, label: string): { bytes: Uint8Array; digest: string } | undefined {
  const cached = lockfiles.get(path);
  if (cached !== undefined) {
    lockfiles.delete(path);
    cachedBytes -= cached.bytes.length;
    let now: FileIdentity | undefined;
    try {
      now = statSync(path, { bigint: true, throwIfNoEntry: false });
    } catch {
      // the read below says what is wrong
    }
    if (now !== undefined && cached.identity.size <= BigInt(limit) && sameFile(now, cached.identity)) {
      remember(path, cached);
      return { bytes: cached.bytes.slice(), digest: cached.digest };
    }
  }
  const read = readLimited(path, relativePath, limit, label);
  if (read === undefined) return undefined;
  const entry = { identity: read.identity, bytes: read.bytes, digest: lockfileBytesDigest(read.bytes) };
  // A file cut short while it was read is not the file its identity describes: not kept.
  if (BigInt(read.bytes.length) === read.identity.size) remember(path, entry);
  return { bytes: entry.bytes.slice(), digest: entry.digest };
}

function remember(path: string, entry: { identity: FileIdentity; bytes: Uint8Array; digest: string }): void {
  if (entry.bytes.length > MAX_CACHED_BYTES) return;
  lockfiles.set(path, entry);
  cachedBytes += entry.bytes.length;
  for (const [oldest, old] of lockfiles) {
    if (lockfiles.size <= MAX_CACHED_LOCKFILES && cachedBytes <= MAX_CACHED_BYTES) break;
    lockfiles.delete(oldest);
    cachedBytes -= old.bytes.length;
  }
}

function readLimited(path: string, relativePath: string, limit: number, label: string): { bytes: Uint8Array; identity: FileIdentity } | undefined {
  let fd: number;
  try {
    fd = openSync(path, 'r');
  } catch (error) {
    const code = (error as NodeJS.ErrnoException).code;
    if (code === 'ENOENT' || code === 'ENOTDIR') return undefined;
    throw new EnvironmentSourceError(`${label}: cannot open ${relativePath}: ${code ?? (error as Error).message}`, { cause: error });
  }
  try {
    // The identity of what is read, from the open file: the content and its identity go together.
    const stat = fstatSync(fd, { bigint: true });
    if (!stat.isFile()) throw new EnvironmentSourceError(`${label}: ${relativePath} is not a regular file`);
    if (stat.size > BigInt(limit)) throw new EnvironmentSourceError(`${label}: ${relativePath} is ${stat.size} bytes, over the ${limit}-byte limit`);
    const bytes = new Uint8Array(Number(stat.size));
    let offset = 0;
    while (offset < bytes.length) {
      const n = readSync(fd, bytes, offset, bytes.length - offset, offset);
      if (n === 0) break;
      offset += n;
    }
    return { bytes: offset === bytes.length ? bytes : bytes.subarray(0, offset), identity: stat };
  } finally {
    closeSync(fd);
  }
}
