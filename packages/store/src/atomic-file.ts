import { closeSync, constants, fsyncSync, openSync, renameSync, unlinkSync, writeSync } from 'node:fs';
import { join } from 'node:path';
import { writeFailure } from './errors.ts';
import { fsyncDir } from './fs-util.ts';

// Never through a planted symlink; the temp name is ours alone (it carries our owner tag).
const TEMP_FLAGS = constants.O_WRONLY | constants.O_CREAT | constants.O_TRUNC | constants.O_NOFOLLOW;
const NEW_FLAGS = constants.O_WRONLY | constants.O_CREAT | constants.O_EXCL | constants.O_NOFOLLOW;

/**
 * Writes every byte of `data`. write(2) may write less than asked (on a nearly
 * full disk it writes what fits and fails only on the next call): ignoring the
 * count once renamed a lease into place with 4,096 of its ~7,000 bytes.
 */
export function writeAll(fd: number, data: Uint8Array): void {
  for (let off = 0; off < data.length; ) {
    const n = writeSync(fd, data, off, data.length - off);
    if (!(n > 0)) throw Object.assign(new Error(`write(2) returned ${n} with ${data.length - off} bytes left`), { code: 'EIO' });
    off += n;
  }
}

function unlinkQuietly(path: string): void {
  try {
    unlinkSync(path);
  } catch {
    // already gone, or the disk refuses even that: Store.open removes temp files of dead processes
  }
}

/** Writes `data` to a file that `open` creates; on any failure the file is closed and removed. */
function writeFresh(path: string, flags: number, data: Uint8Array, mode: number, durable: boolean): void {
  const fd = openSync(path, flags, mode);
  try {
    writeAll(fd, data);
    if (durable) fsyncSync(fd);
  } catch (err) {
    try {
      closeSync(fd);
    } catch {
      // the write already failed; that error is the one to report
    }
    unlinkQuietly(path);
    throw err;
  }
  try {
    closeSync(fd); // close can report a deferred write error (NFS): then the file is not complete
  } catch (err) {
    unlinkQuietly(path);
    throw err;
  }
}

/** What `writeFileAtomic` writes. */
export interface AtomicFile {
  dir: string;
  name: string;
  /** Temp name in `dir`, carrying the writer's owner tag so recovery can tell live work from debris. */
  tmpName: string;
  data: string | Uint8Array;
  /** fsync the file before the rename and the directory after it. */
  durable: boolean;
  /** What is written, for the error message ("the lease of pod-1"). */
  what: string;
  mode?: number;
}

/**
 * Temp file, every byte written (and fsynced when durable), then renamed over
 * `name`: a reader sees the old file or the whole new one. On failure before
 * the rename the temp file is removed and the old file is untouched; the error
 * is `FLOXK8S_STORE_DISK_FULL` or `FLOXK8S_STORE_WRITE_FAILED` with the errno.
 * Only a failing directory fsync after the rename leaves the (complete) new file.
 */
export function writeFileAtomic(f: AtomicFile): void {
  const tmp = join(f.dir, f.tmpName);
  const file = join(f.dir, f.name);
  const data = typeof f.data === 'string' ? Buffer.from(f.data, 'utf8') : f.data;
  try {
    writeFresh(tmp, TEMP_FLAGS, data, f.mode ?? 0o644, f.durable);
  } catch (err) {
    throw writeFailure(err, `writing ${f.what}`, tmp);
  }
  try {
    renameSync(tmp, file);
  } catch (err) {
    unlinkQuietly(tmp);
    throw writeFailure(err, `renaming ${f.what} into place`, file);
  }
  if (!f.durable) return;
  try {
    fsyncDir(f.dir);
  } catch (err) {
    throw writeFailure(err, `syncing the directory of ${f.what} (the new file is in place and complete)`, f.dir);
  }
}

/** Creates `path` (which must not exist) with exactly `data`; on failure nothing is left at `path`. */
export function writeNewFile(path: string, data: string | Uint8Array, mode: number, what: string, durable = false): void {
  try {
    writeFresh(path, NEW_FLAGS, typeof data === 'string' ? Buffer.from(data, 'utf8') : data, mode, durable);
  } catch (err) {
    throw writeFailure(err, `writing ${what}`, path);
  }
}
