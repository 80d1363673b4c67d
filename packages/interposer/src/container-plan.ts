// What one container adds to its environment's (cached, per-lockfile) patch plan: the
// variables Flox sets per activation, the container's own cache directory, and the
// flox.dev/nix-mutable layer. Never cached: each depends on the container.
import { processUser, type PatchPlan, type PlanVariable, type Spec } from '@flox-k8s/oci-patch';
import type { Logger } from './log.ts';
import { prepareNixMutable } from './nix-mutable.ts';

/**
 * `$FLOX_ENV_CACHE` in every container: a tmpfs of its own, owned by its user. Flox's
 * `flox containerize` points it at the image's writable `/tmp` (mkContainer.nix: `env_cache =
 * "/tmp"`); a stub image has no `/tmp`, and a read-only root file system could not write there,
 * so the container gets a directory that is always writable and dies with it. A volume the pod
 * mounts at this path is used instead (on disk, or kept across restarts).
 */
export const FLOX_ENV_CACHE_DIR = '/run/flox-k8s/cache';

export interface ContainerPlanRequest {
  decision: { containerName: string | undefined; nixMutable: boolean; disableMetrics: boolean };
  spec: unknown;
  storeRoot: string;
  containerId: string;
  /** Bundle and rootfs as the runc caller names them. */
  bundle: string;
  rootfs: string | undefined;
  callerPath: (path: string) => string;
  log: Logger;
}

/**
 * `plan` plus what this container needs: `FLOX_ENV_CACHE` and `FLOX_ENV_PROJECT` (as Flox's
 * activation of a FloxHub environment sets them), `FLOX_DISABLE_METRICS=true` for
 * `flox.dev/disable-metrics`, the cache tmpfs, and for `flox.dev/nix-mutable` the overlays'
 * scratch directory (created here).
 */
export function containerPlan(plan: PatchPlan, request: ContainerPlanRequest): PatchPlan {
  const { decision, spec } = request;
  const process = (spec as { process?: { cwd?: unknown } } | null)?.process;
  const env: PlanVariable[] = [
    // A pod that sets these itself (a cache volume elsewhere, another project directory) keeps its values.
    { name: 'FLOX_ENV_CACHE', value: FLOX_ENV_CACHE_DIR, merge: 'default' },
    // `flox activate -r owner/name` (a FloxHub environment) uses the directory it runs in as the
    // project (RemoteEnvironment::project_path is the current directory): the container's cwd.
    { name: 'FLOX_ENV_PROJECT', value: typeof process?.cwd === 'string' && process.cwd.startsWith('/') ? process.cwd : '/', merge: 'default' },
  ];
  if (decision.disableMetrics) {
    // flox-k8s itself reports nothing; Flox tooling inside the container reads this, as the CLI does.
    env.push({ name: 'FLOX_DISABLE_METRICS', value: 'true', merge: 'set' });
    request.log.log('info', 'flox.dev/disable-metrics: FLOX_DISABLE_METRICS=true for the container', { container: decision.containerName });
  }
  const out: PatchPlan = { ...plan, env: [...plan.env, ...env], tmpfs: [FLOX_ENV_CACHE_DIR] };
  if (decision.nixMutable) {
    out.nixMutable = prepareNixMutable({
      storeRoot: request.storeRoot,
      containerId: request.containerId,
      bundle: request.bundle,
      rootfs: request.rootfs,
      hostStoreDir: plan.hostStoreDir,
      storePaths: plan.storePaths,
      user: processUser(spec as Spec),
      callerPath: request.callerPath,
    });
    request.log.log('info', 'flox.dev/nix-mutable: writable /nix/store', {
      container: decision.containerName,
      scratch: out.nixMutable.scratchDir,
      overlays: out.nixMutable.directories.length + 1,
    });
  }
  return out;
}
