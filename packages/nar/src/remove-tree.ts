import { chmodSync, lstatSync, opendirSync, rmdirSync, unlinkSync, type Dir } from 'node:fs';
import { setImmediate as yieldToLoop } from 'node:timers/promises';

const slash = Buffer.from('/');
// Syscalls between two yields to the event loop: removal never blocks it for long.
const BATCH = 512;

/**
 * Remove a tree written by unpackNar, restoring write permission on its read-only directories
 * first (non-root users cannot delete entries of a 0555 directory). Symlinks are never followed;
 * missing paths are fine. Memory stays bounded however many entries the tree holds: it walks
 * depth-first with one directory handle open, removing entries as it reads them, and keeps only
 * the path from the root (a hostile NAR can leave 200,000 entries in one directory; the recursive
 * `fs.rm` plus a walk holding every name took the process from 144 to 716 MB removing them).
 */
export async function removeTree(path: string): Promise<void> {
  const root = Buffer.from(path);
  const st = lstatSync(root, { throwIfNoEntry: false });
  if (st === undefined) return;
  if (!st.isDirectory()) {
    unlinkQuietly(root);
    return;
  }
  const stack: Buffer[] = [root];
  while (stack.length > 0) {
    const dir = stack[stack.length - 1] as Buffer;
    const next = emptyDirectory(dir);
    if (next.kind === 'descend') stack.push(next.path);
    else if (next.kind === 'empty') {
      rmdirQuietly(dir);
      stack.pop();
    }
    await yieldToLoop(); // after at most BATCH syscalls
  }
}

type Step = { kind: 'descend'; path: Buffer } | { kind: 'more' } | { kind: 'empty' };

/**
 * Removes up to BATCH non-directory entries of `dir`: stops at a subdirectory (to be emptied
 * first), at the batch limit (call again), or when `dir` is empty. Reading a directory again
 * after removing entries starts over where only what is left remains.
 */
function emptyDirectory(dir: Buffer): Step {
  makeWritable(dir);
  let handle: Dir;
  try {
    handle = opendirSync(dir, { encoding: 'buffer' as BufferEncoding, bufferSize: 128 });
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'ENOENT') return { kind: 'empty' };
    throw err;
  }
  try {
    let removed = 0;
    for (let entry = handle.readSync(); entry !== null; entry = handle.readSync()) {
      const child = Buffer.concat([dir, slash, entry.name as unknown as Buffer]);
      if (entry.isDirectory()) return { kind: 'descend', path: child };
      unlinkQuietly(child);
      if (++removed >= BATCH) return { kind: 'more' };
    }
    return { kind: 'empty' };
  } finally {
    handle.closeSync();
  }
}

function makeWritable(dir: Buffer): void {
  const st = lstatSync(dir, { throwIfNoEntry: false });
  if (st !== undefined && (st.mode & 0o700) !== 0o700) chmodSync(dir, 0o700);
}

function unlinkQuietly(path: Buffer): void {
  try {
    unlinkSync(path);
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code !== 'ENOENT') throw err;
  }
}

function rmdirQuietly(path: Buffer): void {
  try {
    rmdirSync(path);
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code !== 'ENOENT') throw err;
  }
}
