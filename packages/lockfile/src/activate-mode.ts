import type { Lockfile } from './types.ts';

/** An activation mode: `run` (runtime paths only) or `dev` (also compiler and pkg-config paths). */
export type ActivateMode = 'run' | 'dev';

/**
 * The mode a container activates `lock` in: the one asked for (a pod's
 * `flox.dev/activate-mode`), else the manifest's `options.activate.mode`, else `run`.
 * Flox's CLI defaults to `dev` for an interactive `flox activate`; its Imageless
 * Kubernetes and `flox containerize` start workloads in `run` unless told otherwise,
 * and both honour the manifest's own setting.
 */
export function activateMode(lock: Lockfile, requested?: ActivateMode): ActivateMode {
  return requested ?? lock.manifest.options.activateMode ?? 'run';
}
