import { closeSync, constants, fstatSync, linkSync, lstatSync, openSync, readdirSync, readFileSync, renameSync, unlinkSync } from 'node:fs';
import { join } from 'node:path';
import { z } from 'zod';
import { GcRootUnreadableError, type GcRootProblem } from './errors.ts';
import { errnoCode } from './fs-util.ts';
import { storeBase, type StoreLayout } from './layout.ts';
import { CONTAINER_ID, containerRootName, type ContainerRoot } from './container-roots.ts';
import { bootTimeMs, ownerAlive, ownerFromTag, ownerTag } from './process-owner.ts';
import { rootFileName, type Lease } from './roots.ts';

// How GC reads its roots: fail closed. A root that cannot be read or validated
// may protect paths that running containers use, so it stops the collection
// before anything is deleted (GcRootUnreadableError names the file and why).
// Only what is provably not a root is passed over: a file removed between
// readdir and open (released), a live writer's temp file (the old root, if
// any, is still in place beside it), and the roots of dead processes.

// No FIFO may block the GC: O_NONBLOCK (a no-op for regular files).
const OPEN_FLAGS = constants.O_RDONLY | constants.O_NOFOLLOW | constants.O_NONBLOCK;
// A root names store paths; 16 MiB is tens of thousands of them.
const MAX_ROOT_BYTES = 16 << 20;
// `.<name>.<pid>-<start>[…].tmp`: temp files of roots being written or expired leases set aside.
const TEMP_NAME = /^\..+\.(\d+-\d+)\.tmp$/;
// `<pid>-<start>-<seq>.json`, and its temp file while it is rewritten.
const INFLIGHT_NAME = /^\d+-\d+-\d+\.json(\.tmp)?$/;

function unreadable(file: string, reason: GcRootProblem, what: string, cause?: unknown): GcRootUnreadableError {
  return new GcRootUnreadableError(
    `GC root ${file} ${what}; GC stopped without deleting anything. Repair or remove it (it protects the store paths it names), then collect again`,
    file,
    reason,
    cause === undefined ? undefined : { cause },
  );
}

function listRootDir(dir: string): string[] {
  try {
    return readdirSync(dir);
  } catch (err) {
    throw unreadable(dir, 'unreadable', `cannot be listed (${errnoCode(err) ?? 'error'})`, err);
  }
}

/** The text of a root file; undefined when it was removed meanwhile. */
function readRootText(file: string): string | undefined {
  let fd: number;
  try {
    fd = openSync(file, OPEN_FLAGS);
  } catch (err) {
    const code = errnoCode(err);
    if (code === 'ENOENT') return undefined;
    if (code === 'ELOOP') throw unreadable(file, 'not-a-file', 'is a symbolic link', err);
    throw unreadable(file, 'unreadable', `cannot be opened (${code ?? 'error'})`, err);
  }
  try {
    const st = fstatSync(fd);
    if (!st.isFile()) throw unreadable(file, 'not-a-file', 'is not a regular file');
    if (st.size > MAX_ROOT_BYTES) throw unreadable(file, 'too-large', `is ${st.size} bytes, more than any root this store writes (${MAX_ROOT_BYTES})`);
    let text: string;
    try {
      text = readFileSync(fd, 'utf8');
    } catch (err) {
      throw unreadable(file, 'unreadable', `cannot be read (${errnoCode(err) ?? 'error'})`, err);
    }
    if (text.length === 0) throw unreadable(file, 'empty', 'is empty');
    return text;
  } finally {
    closeSync(fd);
  }
}

function parseRoot<T extends object>(file: string, text: string, schema: z.ZodType<T>, kind: string): T {
  let json: unknown;
  try {
    json = JSON.parse(text);
  } catch (cause) {
    throw unreadable(file, 'torn', `is not complete JSON (${text.length} bytes; torn or damaged)`, cause);
  }
  const parsed = schema.safeParse(json);
  if (!parsed.success) {
    const issue = parsed.error.issues[0];
    throw unreadable(file, 'schema', `is not a valid ${kind} (${issue?.path.join('.') || '<root>'}: ${issue?.message ?? 'invalid'})`, parsed.error);
  }
  return parsed.data;
}

function checkStorePaths(file: string, paths: readonly string[], storeDir: string, kind: string): void {
  for (const p of paths) {
    try {
      storeBase(p, storeDir);
    } catch (cause) {
      throw unreadable(file, 'schema', `is not a valid ${kind}: ${JSON.stringify(p)} is not a top-level store path under ${storeDir}`, cause);
    }
  }
}

const leaseSchema = z.object({ id: z.string().min(1), roots: z.array(z.string()), expiresAt: z.number().refine(Number.isFinite, 'expected a finite number') });
const pinSchema = z.object({ name: z.string().min(1), roots: z.array(z.string()) });
const inflightSchema = z.object({ paths: z.array(z.string()) });

function deadTempOf(name: string): boolean | undefined {
  const m = TEMP_NAME.exec(name);
  if (!m?.[1]) return undefined;
  const owner = ownerFromTag(`${m[1]}-`);
  return owner === undefined || !ownerAlive(owner);
}

function unlinkQuietly(file: string): void {
  try {
    unlinkSync(file);
  } catch {
    // removed meanwhile, or the disk refuses: a dead temp file is never a root either way
  }
}

/** Every root file of a lease or pin directory, validated; throws GcRootUnreadableError on the first bad one. */
function readRootDir<T extends { roots: string[] }>(
  dir: string,
  schema: z.ZodType<T>,
  kind: 'lease' | 'pin',
  idOf: (value: T) => string,
  storeDir: string,
): Array<{ file: string; value: T }> {
  const out: Array<{ file: string; value: T }> = [];
  for (const name of listRootDir(dir)) {
    const file = join(dir, name);
    const deadTemp = deadTempOf(name);
    if (deadTemp !== undefined) {
      if (deadTemp) unlinkQuietly(file);
      continue;
    }
    if (name.startsWith('.') || !name.endsWith('.json')) {
      throw unreadable(file, 'unexpected-entry', `is not a ${kind} file this store writes (<base64url id>.json, or a temp file of a running process)`);
    }
    const text = readRootText(file);
    if (text === undefined) continue; // released between readdir and open
    const value = parseRoot(file, text, schema, kind);
    if (rootFileName(idOf(value), kind) !== name) {
      throw unreadable(file, 'schema', `names the ${kind} ${JSON.stringify(idOf(value))}, whose file name is ${rootFileName(idOf(value), kind)}`);
    }
    checkStorePaths(file, value.roots, storeDir, kind);
    out.push({ file, value });
  }
  return out;
}

/** All leases, expired ones included, with their files. Fails closed (GcRootUnreadableError). */
export function readLeases(layout: StoreLayout): Array<{ file: string; lease: Lease }> {
  return readRootDir(layout.leases, leaseSchema, 'lease', (l) => l.id, layout.storeDir).map(({ file, value }) => ({ file, lease: value }));
}

/** All pins. Fails closed (GcRootUnreadableError). */
export function readPins(layout: StoreLayout): Array<{ name: string; roots: string[] }> {
  return readRootDir(layout.pins, pinSchema, 'pin', (p) => p.name, layout.storeDir).map(({ value }) => value);
}

/**
 * Removes an expired lease unless it was renewed meanwhile: the file is moved
 * aside (atomic), re-read, and put back if what was moved is no longer expired,
 * so a renewal racing the GC is never deleted. Failing to remove it only keeps
 * an expired lease (it protects nothing).
 */
export function removeExpiredLease(file: string, now: number): void {
  const name = file.slice(file.lastIndexOf('/') + 1);
  const aside = join(file.slice(0, file.lastIndexOf('/')), `.${name}.expired.${ownerTag()}.tmp`);
  try {
    renameSync(file, aside);
  } catch {
    return;
  }
  let stillExpired = false;
  try {
    const moved = leaseSchema.safeParse(JSON.parse(readFileSync(aside, 'utf8')));
    stillExpired = moved.success && moved.data.expiresAt <= now;
  } catch {
    // unreadable now: put it back, the next GC reports it
  }
  if (!stillExpired) {
    try {
      linkSync(aside, file); // fails when a newer renewal took the name already: that one wins
    } catch {
      // the newer file is in place
    }
  }
  unlinkQuietly(aside);
}

/** Paths held by realises and profile builds of live processes; removes the roots of dead ones. Fails closed. */
export function readInflight(layout: StoreLayout): string[] {
  const out: string[] = [];
  for (const name of listRootDir(layout.inflight)) {
    const file = join(layout.inflight, name);
    const m = INFLIGHT_NAME.exec(name);
    if (!m) throw unreadable(file, 'unexpected-entry', 'is not an in-flight root this store writes (<pid>-<start>-<n>.json)');
    const owner = ownerFromTag(name);
    if (owner === undefined || !ownerAlive(owner)) {
      try {
        unlinkSync(file);
      } catch (err) {
        if (errnoCode(err) !== 'ENOENT') throw unreadable(file, errnoCode(err) === 'EISDIR' ? 'not-a-file' : 'unreadable', `of a dead process cannot be removed (${errnoCode(err) ?? 'error'})`, err);
      }
      continue;
    }
    if (m[1] !== undefined) continue; // a live writer's temp file; its root is renamed in complete
    const text = readRootText(file);
    if (text === undefined) continue; // finished between readdir and open
    const { paths } = parseRoot(file, text, inflightSchema, 'in-flight root');
    checkStorePaths(file, paths, layout.storeDir, 'in-flight root');
    out.push(...paths);
  }
  return out;
}

/** Removes the in-flight roots of dead processes (Store.open); never throws for damaged roots (GC reports those). */
export function removeDeadInflight(layout: StoreLayout): number {
  let removed = 0;
  let names: string[];
  try {
    names = readdirSync(layout.inflight);
  } catch {
    return 0;
  }
  for (const name of names) {
    if (!INFLIGHT_NAME.test(name)) continue;
    const owner = ownerFromTag(name);
    if (owner !== undefined && ownerAlive(owner)) continue;
    try {
      unlinkSync(join(layout.inflight, name));
      removed++;
    } catch {
      // removed by a concurrent recovery, or not a file: GC reports it
    }
  }
  return removed;
}

const CONTAINER_ROOT_NAME = /^[0-9a-f]{64}\.json$/;
const absolutePath = z.string().refine((p) => p.startsWith('/') && !p.split('/').includes('..'), 'expected an absolute path without ".."');
const containerRootSchema = z.strictObject({
  containerId: z.string().regex(CONTAINER_ID, 'expected a runc container id'),
  runcRoot: absolutePath,
  creator: z.strictObject({ pid: z.number().int().positive(), start: z.string().regex(/^\d+$/), boot: z.string().min(1) }),
  roots: z.array(z.string()),
  environment: z.string().optional(),
  createdAt: z.number().refine(Number.isFinite, 'expected a finite number'),
});

/** What GC found among the container roots. */
export interface ContainerRootsRead {
  /** Store paths of running (or being created) containers. */
  roots: string[];
  /** Containers whose roots hold. */
  live: number;
  /** Roots removed: their container was deleted (runc's state is gone), or they are of a previous boot. */
  released: number;
}

/** Whether `path` exists as this process sees the host; any error but ENOENT fails closed. */
function stateExists(file: string, path: string): boolean {
  try {
    lstatSync(path);
    return true;
  } catch (err) {
    const code = errnoCode(err);
    if (code === 'ENOENT') return false;
    throw unreadable(file, 'unreadable', `names runc state ${path}, which cannot be checked (${code ?? 'error'})`, err);
  }
}

/** Written before this boot: its container is gone, whatever the file holds (a power loss may have torn it). */
function ofPreviousBoot(file: string): boolean {
  try {
    return lstatSync(file).mtimeMs < bootTimeMs();
  } catch {
    return false;
  }
}

/**
 * The roots of running flox containers (container-roots.ts). A root holds while its creating
 * process runs (the creator is checked first: runc writes its state before that process exits)
 * or runc's state directory `<hostRoot><runcRoot>/<containerId>` exists; otherwise the container
 * was deleted and its root is removed. Fails closed like every root: an unreadable or invalid
 * root of this boot, or a state directory that cannot be checked, stops the GC.
 */
export function readContainerRoots(layout: StoreLayout, hostRoot: string): ContainerRootsRead {
  const out: ContainerRootsRead = { roots: [], live: 0, released: 0 };
  const host = hostRoot.replace(/\/+$/, '');
  for (const name of listRootDir(layout.containers)) {
    const file = join(layout.containers, name);
    const deadTemp = deadTempOf(name);
    if (deadTemp !== undefined) {
      if (deadTemp) unlinkQuietly(file);
      continue;
    }
    if (!CONTAINER_ROOT_NAME.test(name)) {
      throw unreadable(file, 'unexpected-entry', 'is not a container root this store writes (<sha256>.json, or a temp file of a running process)');
    }
    let root: ContainerRoot;
    try {
      const text = readRootText(file);
      if (text === undefined) continue; // released between readdir and open
      root = parseRoot(file, text, containerRootSchema, 'container root');
      if (containerRootName(root.runcRoot, root.containerId) !== name) {
        throw unreadable(file, 'schema', `names container ${JSON.stringify(root.containerId)} under ${root.runcRoot}, whose file name is ${containerRootName(root.runcRoot, root.containerId)}`);
      }
      checkStorePaths(file, root.roots, layout.storeDir, 'container root');
    } catch (err) {
      if (err instanceof GcRootUnreadableError && err.reason !== 'not-a-file' && ofPreviousBoot(file)) {
        unlinkQuietly(file);
        out.released++;
        continue;
      }
      throw err;
    }
    if (ownerAlive(root.creator) || stateExists(file, `${host}${join(root.runcRoot, root.containerId)}`)) {
      out.roots.push(...root.roots);
      out.live++;
    } else {
      unlinkQuietly(file);
      out.released++;
    }
  }
  return out;
}
