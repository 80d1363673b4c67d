import { fetchEnvironment, parseReference, sourceReaders } from '@flox-k8s/environments/resolve';
import { holdForContainer, type ContainerRef } from './container-root.ts';
import type { InterposerContext, PreparedPlan } from './context.ts';
import { loadCachedPlan, planMountsExist } from './plan-cache.ts';


/**
 * Everything between "this container wants environment X" and a patch plan:
 * resolve the reference, realise the closure, build the profile; the container's
 * store paths are a GC root before any of them is looked at.
 * `rootfs` is the container's root (for a wrapper shell fallback).
 */
export async function preparePlan(
  ctx: InterposerContext,
  request: { environment: string; mode: 'run' | 'dev'; rootfs: string | undefined; container: ContainerRef },
  signal: AbortSignal,
): Promise<PreparedPlan> {
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
  const fetched = await fetchEnvironment(ref, sourceReaders(config.sources));
  lap('resolve');
  const key = { digest: fetched.digest, system: config.system, mode: request.mode };
  const cached = loadCachedPlan(config.storeRoot, key);
  if (cached !== undefined) {
    await holdForContainer(ctx, request.container, cached.storePaths, signal);
    if (planMountsExist(cached)) {
      lap('cached');
      return { plan: { ...cached, applied: { environment, digest: fetched.digest } }, timings, via: 'cache', fetched: 0 };
    }
  }
  // The store, the binary-cache client and the agent client load only on a cold start.
  const { prepareUncached } = await import('./prepare-cold.ts');
  const prepared = await prepareUncached(ctx, fetched, request, signal, lap);
  return { ...prepared, timings };
}
