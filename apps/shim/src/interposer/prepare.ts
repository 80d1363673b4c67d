import { storePathsToInstall } from '@flox-k8s/lockfile';
import type { PatchPlan } from '@flox-k8s/oci-patch';
import { dirname } from 'node:path';
import { fetchEnvironment, parseFetched, parseReference, sourceReaders, type FetchedEnvironment } from '../sources/resolve.ts';
import type { InterposerContext } from './context.ts';
import { readCachedPlan, writeCachedPlan } from './plan-cache.ts';
import { realiseClosure } from './realise.ts';
import { wrapperShell } from './wrapper-shell.ts';

export interface PreparedPlan {
  plan: PatchPlan;
  timings: Record<string, number>;
  via: string;
  fetched: number;
}

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
  const prepared = await prepareUncached(ctx, fetched, request, signal, lap);
  return { ...prepared, timings };
}

async function prepareUncached(
  ctx: InterposerContext,
  fetched: FetchedEnvironment,
  request: { environment: string; mode: 'run' | 'dev'; rootfs: string | undefined },
  signal: AbortSignal,
  lap: (name: string) => void,
): Promise<Omit<PreparedPlan, 'timings'>> {
  const { config, log } = ctx;
  const lock = parseFetched(fetched);
  const storePaths = storePathsToInstall(lock, config.system);
  // The store (and its binary-cache client) is only needed on a cold start.
  const { Store } = await import('@flox-k8s/store');
  const store = await Store.open(config.storeRoot, { recover: false });
  const realised = await realiseClosure(store, config, { storePaths, environment: request.environment, digest: fetched.digest }, log, signal);
  lap('realise');
  const profile = await store.profile(lock, config.system, { mode: request.mode });
  lap('profile');

  const activation = profile.activation;
  const plan: PatchPlan = {
    hostStoreDir: dirname(store.hostPath(profile.closure[0] ?? storePaths[0] ?? '')),
    storePaths: profile.closure,
    profile: { hostPath: profile.hostPath, containerPath: profile.containerPath },
    // Variables that need shell expansion are exported by the wrapper instead.
    env: activation.plan.env.filter((v) => v.expand !== true).map(({ name, value, merge }) => ({ name, value, merge })),
    applied: { environment: request.environment, digest: fetched.digest },
  };
  if (activation.wrapper !== undefined) plan.wrapper = { shell: wrapperShell(profile, request.rootfs), script: activation.wrapper };
  // A wrapper shell taken from the image depends on the image: do not cache that plan.
  if (plan.wrapper === undefined || plan.wrapper.shell.startsWith(`${profile.containerPath}/`)) {
    writeCachedPlan(config.storeRoot, { digest: fetched.digest, system: config.system, mode: request.mode }, plan);
  }
  log.log('info', 'environment prepared', {
    generation: fetched.generation,
    digest: fetched.digest,
    source: fetched.source,
    closureSize: profile.closure.length,
    via: realised.via,
    fetched: realised.fetched,
  });
  return { plan, via: realised.via, fetched: realised.fetched };
}
