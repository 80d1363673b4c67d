import { spawn, spawnSync } from 'node:child_process';
import { closeSync, openSync, readdirSync, readFileSync, readlinkSync, readSync, renameSync, statSync, unlinkSync, utimesSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { StoreError } from './errors.ts';
import { STORE_VIEW_DIR } from './store-view.ts';

/**
 * A store view whose entries are already bind-mounted on the host ("a mounted view"): one
 * read-only bind per closure path under the view, the view itself a private self-bind. A
 * container then gets its whole closure with one recursive bind of the view (runc copies the
 * tree in one `mount(2)`), instead of one bind mount per store path, which is what makes a
 * warm start of a closure of 1,000+ paths cost hundreds of milliseconds in runc.
 *
 * The mounts live in one mount namespace (the runc caller's, the host's) and die with a reboot;
 * the record beside the view says which namespace and boot they belong to, and is written only
 * after every mount succeeded. Mounts are a cache: removing the record (then `umount -l`) is
 * always safe for running containers, whose copies are private to them.
 */

/** The record of a mounted view: `<view>.mounts.json`. */
export const VIEW_MOUNTS_SUFFIX = '.mounts.json';

/** What the record holds. */
export interface ViewMounts {
  version: 1;
  /** `/proc/sys/kernel/random/boot_id` when the mounts were made: none survive a reboot. */
  bootId: string;
  /** The mount namespace holding them (`readlink /proc/<pid>/ns/mnt`, e.g. `mnt:[4026531841]`). */
  namespace: string;
  /** How many mounts the view holds (its own self-bind included). */
  mounts: number;
}

/** Why a view could not be mounted or unmounted. */
export type ViewMountStep = 'entries' | 'mount' | 'unmount' | 'record';

/** Mounting or unmounting a store view failed; nothing of it is left mounted when `step` is `mount`. */
export class StoreViewMountError extends StoreError {
  readonly step: ViewMountStep;
  constructor(step: ViewMountStep, message: string, options?: { cause?: unknown }) {
    super('FLOXK8S_STORE_VIEW_MOUNT', message, options);
    this.name = 'StoreViewMountError';
    this.step = step;
  }
}

export function viewMountsRecord(view: string): string {
  return `${view}${VIEW_MOUNTS_SUFFIX}`;
}

let cachedBootId: string | undefined;
/** This boot's id (read once). */
export function bootId(): string {
  cachedBootId ??= readFileSync('/proc/sys/kernel/random/boot_id', 'utf8').trim();
  return cachedBootId;
}

/** The mount namespace of a process, as the kernel names it (`mnt:[<inode>]`); undefined when it is gone. */
export function mountNamespaceOf(pid: number): string | undefined {
  try {
    return readlinkSync(`/proc/${pid}/ns/mnt`);
  } catch {
    return undefined;
  }
}

const MAX_RECORD_BYTES = 4096;
const NAMESPACE = /^mnt:\[\d{1,20}\]$/;
const BOOT_ID = /^[0-9a-f-]{36}$/;

/** The record at `path`, when it is well formed; never throws (a bad record is no record). */
export function readViewMounts(path: string): ViewMounts | undefined {
  let text: string;
  try {
    const fd = openSync(path, 'r');
    try {
      const buf = Buffer.alloc(MAX_RECORD_BYTES + 1);
      const n = readSync(fd, buf, 0, buf.length, 0);
      if (n > MAX_RECORD_BYTES) return undefined;
      text = buf.toString('utf8', 0, n);
    } finally {
      closeSync(fd);
    }
  } catch {
    return undefined;
  }
  let data: unknown;
  try {
    data = JSON.parse(text);
  } catch {
    return undefined;
  }
  const r = data as Partial<ViewMounts> | null;
  if (r === null || typeof r !== 'object' || r.version !== 1) return undefined;
  if (typeof r.bootId !== 'string' || !BOOT_ID.test(r.bootId)) return undefined;
  if (typeof r.namespace !== 'string' || !NAMESPACE.test(r.namespace)) return undefined;
  if (typeof r.mounts !== 'number' || !Number.isSafeInteger(r.mounts) || r.mounts < 1) return undefined;
  return { version: 1, bootId: r.bootId, namespace: r.namespace, mounts: r.mounts };
}

/**
 * Whether a create may use the mounted view at `view` (as this process reaches it: through
 * `/proc/<pid>/root` for the patch service): its record is this boot's and the runc caller's
 * namespace, and `probe` (one entry of the view and its store path, as this process reaches
 * them) is that store path. The record's mtime is set first, so an eviction that claims the
 * record after this read sees the view as just used and puts it back (see `claimForEviction`).
 */
export function mountedViewUsable(view: string, callerNamespace: string | undefined, probe?: { entry: string; source: string }): boolean {
  if (callerNamespace === undefined) return false;
  const record = viewMountsRecord(view);
  try {
    const now = new Date();
    utimesSync(record, now, now);
  } catch {
    return false;
  }
  const mounts = readViewMounts(record);
  if (mounts === undefined || mounts.bootId !== bootId() || mounts.namespace !== callerNamespace) return false;
  if (probe === undefined) return true;
  // The record says mounted; one entry proves it (a bind shows its source's inode, the bare
  // mount point its own), against a view someone unmounted by hand.
  try {
    const [entry, source] = [statSync(probe.entry), statSync(probe.source)];
    return entry.ino === source.ino && entry.dev === source.dev;
  } catch {
    return false;
  }
}

// Store path bases are `<nix32 hash>-<name>` with Nix's name characters: nothing an fstab
// line could misread (no whitespace, no backslash, no '#').
const BASE = /^[0-9a-df-np-sv-z]{32}-[A-Za-z0-9+\-._?=]{1,211}$/;
const CLEAN_DIR = /^\/[A-Za-z0-9+\-._/=@]*$/;

/**
 * The fstab `mount -a -T` reads: the view's private self-bind first (so its entries' mounts
 * do not propagate anywhere, and one lazy unmount of the view takes them all), then one
 * read-only, nosuid, nodev bind per entry, sources in `hostStoreDir`.
 */
export function viewFstab(view: string, hostStoreDir: string, bases: readonly string[]): string {
  for (const [what, dir] of [['view', view], ['store directory', hostStoreDir]] as const) {
    if (!CLEAN_DIR.test(dir) || dir.split('/').includes('..')) throw new StoreViewMountError('entries', `the ${what} ${JSON.stringify(dir)} is not a plain absolute path`);
  }
  const lines = [`${view} ${view} none bind,private 0 0`];
  for (const base of bases) {
    if (!BASE.test(base)) throw new StoreViewMountError('entries', `${JSON.stringify(base)} is not a store path base name`);
    lines.push(`${hostStoreDir}/${base} ${view}/${base} none bind,ro,nosuid,nodev 0 0`);
  }
  return `${lines.join('\n')}\n`;
}

/** What mountStoreView needs. */
export interface MountViewRequest {
  /** The view, as the runc caller names it (a host path). */
  view: string;
  hostStoreDir: string;
  /** Store path bases to bind (the closure without its symlinks). */
  bases: readonly string[];
  /** An open fd of the target mount namespace (`/proc/<pid>/ns/mnt`), and its name. */
  namespace: { fd: number; id: string };
  /** How this process reaches a host path of that namespace (to write the fstab and record). */
  callerPath: (path: string) => string;
  /** Kill the mount after this long (default 60 s). */
  timeoutMs?: number;
}

// In the target namespace: clear what a crash may have left, mount everything, make the tree
// private; on any failure take it all down again.
const MOUNT_SCRIPT = 'umount -l "$2" 2>/dev/null; if mount -a -T "$1" && mount --make-rprivate "$2"; then exit 0; fi; umount -l "$2" 2>/dev/null; exit 1';

/**
 * Mounts the view's entries in the namespace of `namespace.fd` with one `mount -a` (one
 * process for the whole tree: ~0.4 ms per entry here, against ~4 ms with a `mount` per path),
 * then writes the record. Throws StoreViewMountError; on failure nothing stays mounted and
 * there is no record.
 */
export async function mountStoreView(request: MountViewRequest): Promise<ViewMounts> {
  const { view, callerPath } = request;
  const record = viewMountsRecord(view);
  const fstab = `${view}.fstab`;
  const text = viewFstab(view, request.hostStoreDir, request.bases);
  try {
    unlinkSync(callerPath(record));
  } catch {
    // none yet
  }
  try {
    writeFileSync(callerPath(fstab), text, { mode: 0o600 });
  } catch (cause) {
    throw new StoreViewMountError('mount', `writing ${fstab}: ${(cause as Error).message}`, { cause });
  }
  try {
    const result = await run(['nsenter', '--mount=/proc/self/fd/3', '--', 'sh', '-c', MOUNT_SCRIPT, 'sh', fstab, view], request.namespace.fd, request.timeoutMs ?? 60_000);
    if (result.code !== 0) throw new StoreViewMountError('mount', `mounting the store view ${view} failed (exit ${result.code}): ${result.stderr.trim().slice(0, 500)}`);
  } finally {
    try {
      unlinkSync(callerPath(fstab));
    } catch {
      // gone already
    }
  }
  const mounts: ViewMounts = { version: 1, bootId: bootId(), namespace: request.namespace.id, mounts: request.bases.length + 1 };
  try {
    const tmp = `${callerPath(record)}.tmp-${process.pid}`;
    writeFileSync(tmp, JSON.stringify(mounts), { mode: 0o644 });
    renameSync(tmp, callerPath(record));
  } catch (cause) {
    await run(['nsenter', '--mount=/proc/self/fd/3', '--', 'umount', '-l', view], request.namespace.fd, 10_000).catch(() => undefined);
    throw new StoreViewMountError('record', `writing ${record}: ${(cause as Error).message}`, { cause });
  }
  return mounts;
}

function run(argv: string[], nsFd: number, timeoutMs: number): Promise<{ code: number; stderr: string }> {
  return new Promise((resolve, reject) => {
    const child = spawn(argv[0] as string, argv.slice(1), { stdio: ['ignore', 'ignore', 'pipe', nsFd], timeout: timeoutMs, killSignal: 'SIGKILL' });
    let stderr = '';
    child.stderr?.setEncoding('utf8');
    child.stderr?.on('data', (chunk: string) => {
      if (stderr.length < 4096) stderr += chunk;
    });
    child.on('error', (cause) => reject(new StoreViewMountError('mount', `running ${argv[0]}`, { cause })));
    child.on('close', (code, signal) => resolve({ code: code ?? (signal === null ? 1 : 128), stderr: signal === null ? stderr : `${stderr}killed by ${signal}` }));
  });
}

/** What became of a view's mounts. */
export type UnmountOutcome = 'unmounted' | 'not-mounted' | 'namespace-gone';

/**
 * Takes a view's mounts down: the record goes first (so no create starts using the view), then
 * one `umount -l` of the view in the namespace that holds it, entered through the first of
 * `pids` that lives in it (default: this process, then PID 1: the node agent has `hostPID`).
 * `namespace-gone`: no such process, so the namespace (and its mounts) is gone, or out of reach,
 * where the kernel detaches a mount point's mounts when the directory is removed.
 */
export function unmountStoreView(view: string, pids: readonly number[] = [process.pid, 1], record: string = viewMountsRecord(view)): UnmountOutcome {
  const mounts = readViewMounts(record);
  try {
    unlinkSync(record);
  } catch {
    if (mounts === undefined) return 'not-mounted';
  }
  if (mounts === undefined) return 'not-mounted';
  if (mounts.bootId !== bootId()) return 'namespace-gone';
  const pid = pids.find((p) => mountNamespaceOf(p) === mounts.namespace);
  if (pid === undefined) return 'namespace-gone';
  const argv = pid === process.pid ? ['umount', '-l', view] : ['nsenter', `--mount=/proc/${pid}/ns/mnt`, '--', 'umount', '-l', view];
  const result = spawnSync(argv[0] as string, argv.slice(1), { stdio: ['ignore', 'ignore', 'pipe'], timeout: 30_000, encoding: 'utf8' });
  if (result.status === 0) return 'unmounted';
  // umount(8): 32 is "not mounted" among others; the record is gone either way.
  if (/not mounted/.test(result.stderr ?? '')) return 'not-mounted';
  throw new StoreViewMountError('unmount', `umount -l ${view} failed (exit ${result.status ?? result.signal}): ${(result.stderr ?? '').trim().slice(0, 500)}`);
}

/**
 * Takes down the mounted view of every profile under `profilesDir` (the node's uninstall: no
 * mount of ours outlives it); returns the views unmounted. A view that cannot be unmounted keeps
 * no record either.
 */
export function unmountAllStoreViews(profilesDir: string, pids?: readonly number[]): string[] {
  let names: string[];
  try {
    names = readdirSync(profilesDir);
  } catch {
    return [];
  }
  const unmounted: string[] = [];
  for (const name of names) {
    const view = join(profilesDir, name, STORE_VIEW_DIR);
    try {
      if (unmountStoreView(view, pids) === 'unmounted') unmounted.push(view);
    } catch {
      // record gone: nothing uses it; its mounts go with the next reboot
    }
  }
  return unmounted;
}

/**
 * For an eviction: takes the record of `view` (renames it aside) unless it was used within
 * `idleMs` (a create sets its mtime before it reads it, so a create that read it before the
 * rename shows here as a recent use). Returns the taken record, for unmountStoreView.
 */
export function claimForEviction(view: string, idleMs: number, now: number = Date.now()): string | undefined {
  const record = viewMountsRecord(view);
  const claimed = `${record}.evicting-${process.pid}`;
  try {
    renameSync(record, claimed);
  } catch {
    return undefined;
  }
  let mtime = 0;
  try {
    mtime = statSync(claimed).mtimeMs;
  } catch {
    return undefined;
  }
  if (now - mtime < idleMs) {
    try {
      renameSync(claimed, record);
    } catch {
      // lost: the view is then simply unused until mounted again
    }
    return undefined;
  }
  return claimed;
}
