// Flox's Imageless Kubernetes takes the FloxHub token from a Secret each pod mounts at
// /var/run/secrets/flox.dev (key `floxhub-token`). The pod's spec names the volume's host
// directory as the mount's source; the token is read from there, through the runc caller's
// view of the file system. A pod chooses that source, so it is hostile input: only a kubelet
// Secret (or projected) volume is accepted, and symlinks are followed only inside it (kubelet's
// own `floxhub-token -> ..data/floxhub-token -> ..<timestamp>/floxhub-token`), so the token can
// never be some other host file sent to FloxHub.
import { closeSync, constants, fstatSync, lstatSync, openSync, readlinkSync, readSync } from 'node:fs';
import { posix } from 'node:path';
import type { RequestToken } from '@flox-k8s/environments';
import { PodTokenInvalidError } from './errors.ts';

/** Where Flox's pods mount their FloxHub token Secret (`/run` is the same directory on most images). */
export const FLOX_SECRET_MOUNTS: readonly string[] = ['/var/run/secrets/flox.dev', '/run/secrets/flox.dev'];
/** The Secret's key Flox reads. */
export const FLOXHUB_TOKEN_KEY = 'floxhub-token';

const MAX_TOKEN_BYTES = 16 * 1024;
const MAX_LINKS = 8;
// kubelet's volume directories: .../pods/<uid>/volumes/kubernetes.io~secret/<name> (or ~projected).
const SECRET_VOLUME = /\/volumes\/kubernetes\.io~(?:secret|projected)\/[^/]+$/;

interface MountLike {
  destination?: unknown;
  source?: unknown;
  type?: unknown;
  options?: unknown;
}

/**
 * The FloxHub token of the pod, when the container mounts a Secret at
 * `/var/run/secrets/flox.dev`; undefined when it mounts nothing there. `callerPath` maps a
 * host path of the runc caller to one this process can open. Throws PodTokenInvalidError
 * (`FLOXK8S_POD_TOKEN_INVALID`) for anything else mounted there, a missing key, a link leaving
 * the volume, or a value that is not one line.
 */
export function podFloxhubToken(spec: unknown, callerPath: (path: string) => string): RequestToken | undefined {
  const mounts = (spec as { mounts?: unknown } | null)?.mounts;
  if (!Array.isArray(mounts)) return undefined;
  const mount = (mounts as MountLike[]).findLast((m) => typeof m?.destination === 'string' && FLOX_SECRET_MOUNTS.includes(normalise(m.destination)));
  if (mount === undefined) return undefined;
  const at = normalise(mount.destination as string);
  const origin = `the pod's Secret at ${at}/${FLOXHUB_TOKEN_KEY}`;
  const source = typeof mount.source === 'string' ? posix.normalize(mount.source) : '';
  const isBind = mount.type === 'bind' || (Array.isArray(mount.options) && mount.options.some((o) => o === 'bind' || o === 'rbind'));
  if (!isBind || !source.startsWith('/') || !SECRET_VOLUME.test(source)) {
    throw new PodTokenInvalidError(
      `${at} must be a Secret volume holding ${FLOXHUB_TOKEN_KEY} (found ${typeof mount.type === 'string' ? mount.type : 'a mount'} from ${source || '(no source)'}); mount the FloxHub token Secret there, or nothing`,
    );
  }
  const file = resolveInside(source, FLOXHUB_TOKEN_KEY, callerPath, origin);
  return { value: readOneLine(callerPath(file), origin), origin };
}

/**
 * Follows `name` inside `dir` one component at a time: every symlink met (kubelet's `..data`
 * included) must be relative and stay inside `dir`. Returns the final path, a regular file.
 */
function resolveInside(dir: string, name: string, callerPath: (path: string) => string, origin: string): string {
  const escape = (): PodTokenInvalidError => new PodTokenInvalidError(`${origin}: a link leads out of the Secret volume; refusing to read it`);
  const pending = name.split('/');
  const resolved: string[] = [];
  let hops = 0;
  while (pending.length > 0) {
    const part = pending.shift() as string;
    if (part === '' || part === '.') continue;
    if (part === '..') {
      if (resolved.pop() === undefined) throw escape();
      continue;
    }
    const path = posix.join(dir, ...resolved, part);
    let info;
    try {
      info = lstatSync(callerPath(path));
    } catch (cause) {
      throw new PodTokenInvalidError(`${origin}: the Secret has no key ${FLOXHUB_TOKEN_KEY} (${(cause as NodeJS.ErrnoException).code ?? 'unreadable'}); create it with --from-file=${FLOXHUB_TOKEN_KEY}=…`, { cause });
    }
    if (info.isSymbolicLink()) {
      if (++hops > MAX_LINKS) throw new PodTokenInvalidError(`${origin}: more than ${MAX_LINKS} links`);
      const target = readlinkSync(callerPath(path));
      if (target.startsWith('/')) throw escape();
      pending.unshift(...target.split('/'));
      continue;
    }
    if (pending.length > 0 ? !info.isDirectory() : !info.isFile()) throw new PodTokenInvalidError(`${origin}: expected a file, found something else`);
    resolved.push(part);
  }
  if (resolved.length === 0) throw new PodTokenInvalidError(`${origin}: expected a file, found the volume itself`);
  return posix.join(dir, ...resolved);
}

function readOneLine(path: string, origin: string): string {
  // O_NOFOLLOW: the final component was checked to be a file; it must still be one now.
  const fd = openSync(path, constants.O_RDONLY | constants.O_NOFOLLOW | constants.O_NONBLOCK);
  try {
    const info = fstatSync(fd);
    if (!info.isFile() || info.size > MAX_TOKEN_BYTES) throw new PodTokenInvalidError(`${origin}: expected a file of at most ${MAX_TOKEN_BYTES} bytes`);
    const buffer = Buffer.alloc(info.size);
    let read = 0;
    while (read < buffer.length) {
      const n = readSync(fd, buffer, read, buffer.length - read, read);
      if (n === 0) break;
      read += n;
    }
    const token = buffer.subarray(0, read).toString('utf8').trim();
    if (token === '' || /[\r\n\0]/.test(token)) throw new PodTokenInvalidError(`${origin}: expected one non-empty line`);
    return token;
  } finally {
    closeSync(fd);
  }
}

function normalise(destination: string): string {
  const normal = posix.normalize(destination);
  return normal.length > 1 && normal.endsWith('/') ? normal.slice(0, -1) : normal;
}
