// Plans and specs shared by the unit, golden and property tests.
import type { PatchPlan, Spec } from '../src/index.ts';

export const BUSYBOX = '/nix/store/0c6kzph7l6pd2gi8nx8jgwhg6l4zal27-busybox-1.36.1';
export const HELLO = '/nix/store/pnzqx8if4bq311b03hp9pvkwy1vjvkp3-hello-flox-1.0';
export const DATA = '/nix/store/8b1dhq3iglr2j02bqx1pqmci5ls7m9nq-flox-fixture-data-1.0';
export const DIGEST: string = 'c0ffee'.padEnd(64, '0');

/** A plan like the shim's: three store paths, profile under /run, a hook. */
export function samplePlan(overrides: Partial<PatchPlan> = {}): PatchPlan {
  return {
    hostStoreDir: '/var/lib/flox-k8s/store',
    storePaths: [HELLO, BUSYBOX, DATA],
    storeView: { hostPath: `/var/lib/flox-k8s/profiles/${DIGEST}/.flox-k8s/nix-store`, symlinks: [] },
    profile: { hostPath: '/var/lib/flox-k8s/profiles/' + DIGEST, containerPath: '/run/flox/environment' },
    env: [
      { name: 'PATH', value: '/run/flox/environment/bin', merge: 'prepend' },
      { name: 'FLOX_ENV', value: '/run/flox/environment', merge: 'set' },
      { name: 'XDG_DATA_DIRS', value: '/run/flox/environment/share', merge: 'prepend' },
      { name: 'GREETING', value: 'from-vars', merge: 'default' },
    ],
    wrapper: { shell: `${BUSYBOX}/bin/sh`, script: '/run/flox/environment/activate.d/hook.sh' },
    applied: { environment: 'acme/echoserver:12', digest: DIGEST },
    ...overrides,
  };
}

/** A minimal valid spec with the fields runc needs and one field we do not know. */
export function sampleSpec(): Spec {
  return {
    ociVersion: '1.0.2-dev',
    process: {
      terminal: false,
      user: { uid: 0, gid: 0 },
      args: ['echoserver', '--port', '8080'],
      env: ['PATH=/usr/local/bin:/usr/bin:/bin', 'GREETING=from-pod'],
      cwd: '/',
    },
    root: { path: 'rootfs' },
    mounts: [
      { destination: '/proc', type: 'proc', source: 'proc', options: ['nosuid', 'noexec', 'nodev'] },
      { destination: '/data', type: 'bind', source: '/var/lib/kubelet/pods/x/volumes/data', options: ['rbind', 'rprivate', 'rw'] },
    ],
    annotations: { 'flox.dev/environment': 'acme/echoserver:12', 'io.kubernetes.cri.container-name': 'echoserver' },
    linux: { namespaces: [{ type: 'pid' }, { type: 'mount' }], 'x-unknown': { kept: [1, 2, 3] } },
    'vendor.example/extension': { nested: true },
  };
}
