import { fetchEnvironment, parseReference, sourceReaders } from '@flox-k8s/environments/resolve';
import type { InterposerContext, PreparedPlan } from './context.ts';
import { readCachedPlan } from './plan-cache.ts';


/**
 * Everything between "this container wants environment X" and a patch plan:
 * resolve the reference, realise the closure, build the profile.
 * `rootfs` is the container's root (for a wrapper shell fallback).
 */
export async function preparePlan(
  ctx: InterposerContext,
  request: { environment: string; mode: 'run' | 'dev'; containerId: string; rootfs: string | undefined },
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
  const cached = readCachedPlan(config.storeRoot, key);
  if (cached !== undefined) {
    lap('cached');
    return { plan: { ...cached, applied: { environment, digest: fetched.digest } }, timings, via: 'cache', fetched: 0 };
  }
  // The store, the binary-cache client and the agent client load only on a cold start.
  const { prepareUncached } = await import('./prepare-cold.ts');
  const prepared = await prepareUncached(ctx, fetched, request, signal, lap);
  return { ...prepared, timings };
}
