// Run once while the startup snapshot is built: V8 compiles a function on its first
// call, and what was compiled is kept in the snapshot, so a container start does not
// compile the argv parser, zod's parsers and patchSpec again. Pure functions on
// made-up inputs only: no file, no environment, nothing that outlives the call.
import { patchExecProcess, patchSpec, shouldPatch, type PatchPlan } from '@flox-k8s/oci-patch';
import { parseConfig } from '@flox-k8s/config';
import { parseReference } from '@flox-k8s/environments/resolve';
import { parseRuncArgv } from '@flox-k8s/interposer';

const STORE_PATH = `/nix/store/${'0'.repeat(32)}-rehearsal`;

/** Exercises the warm create/exec path on a made-up spec and plan. */
export function rehearseWarmPath(): void {
  parseRuncArgv(['--root', '/r', '--log', '/r/log.json', '--log-format', 'json', 'create', '--bundle', '/b', '--pid-file', '/b/pid', 'c'], '/');
  parseRuncArgv(['--root', '/r', 'exec', '--process', '/p.json', '--detach', 'c'], '/');
  parseConfig({ sources: [{ type: 'dir', path: '/srv/environments' }, { type: 'hub', url: 'https://hub.invalid/e' }] });
  parseReference('acme/rehearsal:1');
  const spec = {
    ociVersion: '1.0.2',
    process: { args: ['sh'], env: ['PATH=/usr/bin:/bin'], cwd: '/' },
    root: { path: 'rootfs' },
    mounts: [{ destination: '/proc', type: 'proc', source: 'proc', options: ['nosuid'] }],
    annotations: { 'flox.dev/environment': 'acme/rehearsal', 'io.kubernetes.cri.container-type': 'container', 'io.kubernetes.cri.container-name': 'app' },
  };
  const decision = shouldPatch(spec);
  const plan: PatchPlan = {
    hostStoreDir: '/var/lib/flox-k8s/store',
    storePaths: [STORE_PATH],
    profile: { hostPath: '/var/lib/flox-k8s/profiles/p', containerPath: '/run/flox-k8s/env' },
    env: [
      { name: 'PATH', value: '/run/flox-k8s/env/bin', merge: 'prepend' },
      { name: 'FLOX_ENV', value: '/run/flox-k8s/env', merge: 'set' },
      { name: 'LANG', value: 'C.UTF-8', merge: 'default' },
    ],
    wrapper: { shell: '/run/flox-k8s/env/bin/sh', script: '/run/flox-k8s/env/.flox-k8s/wrapper' },
    applied: { environment: decision.patch ? decision.environment : 'acme/rehearsal', digest: '0'.repeat(64) },
  };
  JSON.stringify(patchSpec(JSON.parse(JSON.stringify(spec)), plan));
  patchExecProcess({ args: ['env'], env: ['PATH=/bin'], cwd: '/' }, plan);
}
