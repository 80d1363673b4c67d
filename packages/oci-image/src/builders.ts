import { execFile } from 'node:child_process';
import { readFile } from 'node:fs/promises';
import { promisify } from 'node:util';
import { ImageSourceError } from './errors.ts';
import { buildImage, type BuiltImage } from './image.ts';
import type { LayerEntry } from './layer.ts';

/** The stub image pods name when their software comes from a Flox environment. */
export const STUB_IMAGE_NAME = 'flox/empty:1.0.0';
/** Sandbox (pause) image of the e2e suites: static busybox waiting for a signal. */
export const TEST_PAUSE_IMAGE_NAME = 'flox-k8s.test/pause:1';
/** Plain busybox image of the e2e suites, for comparing with stock runc. */
export const TEST_BUSYBOX_IMAGE_NAME = 'flox-k8s.test/busybox:1';

const imagePath = '/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin';

/**
 * What the stub's one layer holds: the mount points of a flox container, and nothing else. runc
 * mounts onto each of them at every start; where one is missing it first makes it in the
 * container's writable layer (one mkdir per missing directory, a file for a bind-mounted file),
 * on the start's path. A trailing `/` is a directory, anything else an empty file (a bind-mounted
 * file's target). Covered: what runc mounts in every container (`proc`, `dev`, `sys`), the files
 * CRI binds into every pod (`/etc/hostname`, `/etc/hosts`, `/etc/resolv.conf`), kubelet's service
 * account token, and what the environment's patch mounts (`@flox-k8s/oci-patch`'s `/nix/store`,
 * the store's profile mount path, the interposer's `$FLOX_ENV_CACHE` tmpfs; the node agent's tests
 * check these against their homes).
 */
export const STUB_MOUNT_POINTS: readonly string[] = Object.freeze([
  'proc/',
  'dev/',
  'sys/',
  'etc/hostname',
  'etc/hosts',
  'etc/resolv.conf',
  'var/run/secrets/kubernetes.io/serviceaccount/',
  'nix/store/',
  'run/flox-k8s/env/',
  'run/flox-k8s/cache/',
]);

/**
 * `flox/empty:1.0.0`: one layer holding only mount points (STUB_MOUNT_POINTS: empty directories and
 * empty files), so the rootfs holds only what runc and the environment mount. `architecture`
 * (OCI/Go naming: `amd64`, `arm64`; default `amd64`) is the node's: `ctr images import` unpacks only
 * images of its own platform.
 */
export function stubImage(options: { architecture?: string } = {}): Promise<BuiltImage> {
  const entries = STUB_MOUNT_POINTS.map((p): LayerEntry => (p.endsWith('/') ? { type: 'directory', path: p } : { type: 'file', path: p, content: '' }));
  return buildImage({
    name: STUB_IMAGE_NAME,
    ...(options.architecture === undefined ? {} : { architecture: options.architecture }),
    layers: [{ entries }],
    config: { env: [`PATH=${imagePath}`], workingDir: '/' },
  });
}

export interface BusyboxImageOptions {
  /** Host path of a statically linked busybox; default `/bin/busybox` (Debian's busybox-static). */
  busybox?: string;
}

async function busyboxEntries(busybox: string): Promise<LayerEntry[]> {
  let content: Buffer;
  let list: string;
  try {
    content = await readFile(busybox);
    list = (await promisify(execFile)(busybox, ['--list'], { timeout: 10_000 })).stdout;
  } catch (cause) {
    throw new ImageSourceError(`cannot use ${busybox} as the test images' busybox; install busybox-static or pass { busybox }`, { cause });
  }
  const applets = list.split('\n').map((a) => a.trim()).filter((a) => /^[a-z0-9_.[-]+$/.test(a) && a !== 'busybox');
  const unique = [...new Set(applets)].sort();
  return [
    { type: 'file', path: 'bin/busybox', content, mode: 0o755 },
    // One symlink per applet so `sh -c 'sleep …'`, `echo`, … resolve through PATH as on a normal system.
    ...unique.map((a): LayerEntry => ({ type: 'symlink', path: `bin/${a}`, target: 'busybox' })),
    { type: 'directory', path: 'tmp', mode: 0o1777 },
    { type: 'directory', path: 'etc' },
    { type: 'directory', path: 'proc' },
    { type: 'directory', path: 'dev' },
    { type: 'directory', path: 'sys' },
  ];
}

/**
 * `flox-k8s.test/pause:1`: busybox sh as PID 1 that waits forever and exits 0 on SIGTERM/SIGINT
 * (a PID 1 has no default signal dispositions, so a bare `sleep` would ignore SIGTERM).
 */
export async function testPauseImage(options: BusyboxImageOptions = {}): Promise<BuiltImage> {
  return buildImage({
    name: TEST_PAUSE_IMAGE_NAME,
    layers: [{ entries: await busyboxEntries(options.busybox ?? '/bin/busybox') }],
    config: {
      env: ['PATH=/bin'],
      entrypoint: ['/bin/busybox', 'sh', '-c', 'trap "exit 0" TERM INT; sleep 2147483647 & wait'],
      workingDir: '/',
      stopSignal: 'SIGTERM',
    },
  });
}

/** `flox-k8s.test/busybox:1`: static busybox with applet symlinks in /bin; default command `sh`. */
export async function testBusyboxImage(options: BusyboxImageOptions = {}): Promise<BuiltImage> {
  return buildImage({
    name: TEST_BUSYBOX_IMAGE_NAME,
    layers: [{ entries: await busyboxEntries(options.busybox ?? '/bin/busybox') }],
    config: { env: [`PATH=${imagePath}`], cmd: ['sh'], workingDir: '/' },
  });
}
