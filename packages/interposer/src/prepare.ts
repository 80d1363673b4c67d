import { fetchEnvironment, parseReference, sourceReaders } from '@flox-k8s/environments/resolve';
import type { RequestToken } from '@flox-k8s/environments';
import { holdForContainer, type ContainerRef } from './container-root.ts';
import type { CallerPath, InterposerContext, PreparedPlan } from './context.ts';
import { cachedPlanUsable, loadCachedPlan } from './plan-cache.ts';

/** What one container asks of its environment. */
export interface PlanRequest {
  environment: string;
  /** `flox.dev/activate-mode`; undefined: the manifest's `options.activate.mode`, else run. */
  mode: 'run' | 'dev' | undefined;
  /** The container whose GC root the closure becomes (its id, runc root, creator). */
  container: ContainerRef;
  /** The container's root (for a wrapper shell fallback). */
  rootfs: string | undefined;
  /** The pod's own FloxHub token (`/var/run/secrets/flox.dev`), for floxmeta sources. */
  floxhubToken?: RequestToken;
  /** How this process reaches a host path of the runc caller (mount sources are checked through it). */
  callerPath: CallerPath;
}

/**
 * Everything between "this container wants environment X" and a patch plan:
 * resolve the reference, realise the closure, build the profile; the container's
 * store paths are a GC root before any of them is looked at.
 */
export async function preparePlan(ctx: InterposerContext, request: PlanRequest, signal: AbortSignal): Promise<PreparedPlan> {
  const { config } = ctx;
  const { environment } = request;
  const timings: Record<string, number> = {};
  let t = performance.now();
  const lap = (name: string): void => {
    const now = performance.now();
    timings[name] = Math.round((now - t) * 10) / 10;
    t = now;
  };

  const ref = parseReference(environment);
  const readers = sourceReaders(config.sources, request.floxhubToken === undefined ? {} : { floxhubToken: request.floxhubToken });
  const fetched = await fetchEnvironment(ref, readers);
  lap('resolve');
  // Without an annotation the mode is the manifest's: fixed by the digest, so it keys the plan as well.
  const key = { digest: fetched.digest, system: config.system, mode: request.mode ?? 'manifest' };
  const cached = loadCachedPlan(config.storeRoot, key);
  lap('planLoad');
  if (cached !== undefined) {
    await holdForContainer(ctx, request.container, cached.storePaths, signal);
    lap('gcRoot');
    if (cachedPlanUsable(cached, config.storeRoot, request.callerPath)) {
      lap('verifyMounts');
      return { plan: { ...cached, applied: { environment, digest: fetched.digest } }, timings, via: 'cache', fetched: 0, mode: key.mode, mountsVerified: true };
    }
  }
  // The store, the binary-cache client and the agent client load only on a cold start.
  const { prepareUncached } = await import('./prepare-cold.ts');
  const prepared = await prepareUncached(ctx, fetched, request, signal, lap);
  return { ...prepared, timings };
}
