import { storeFsyncOption } from '@flox-k8s/config';
import { activateMode, storePathsToInstall } from '@flox-k8s/lockfile';
import type { PatchPlan } from '@flox-k8s/oci-patch';
import { Store } from '@flox-k8s/store';
import { dirname } from 'node:path';
import { parseFetched, type FetchedEnvironment } from '@flox-k8s/environments';
import type { InterposerContext, PreparedPlan } from './context.ts';
import { writeCachedPlan } from './plan-cache.ts';
import { holdForContainer, type ContainerRef } from './container-root.ts';
import { realiseClosure } from './realise.ts';
import { wrapperShell } from './wrapper-shell.ts';

/** Cold start: parse the lockfile, realise the closure, build the profile, cache the plan. */
export async function prepareUncached(
  ctx: InterposerContext,
  fetched: FetchedEnvironment,
  request: { environment: string; mode: 'run' | 'dev' | undefined; rootfs: string | undefined; container: ContainerRef },
  signal: AbortSignal,
  lap: (name: string) => void,
): Promise<Omit<PreparedPlan, 'timings'>> {
  const { config, log } = ctx;
  const lock = parseFetched(fetched);
  const storePaths = storePathsToInstall(lock, config.system);
  // A root before the realise: once valid, the closure is reachable from these paths.
  await holdForContainer(ctx, request.container, storePaths, signal);
  const store = await Store.open(config.storeRoot, { recover: false, fetchWorker: ctx.fetchWorker, fsync: storeFsyncOption(config) });
  const realised = await realiseClosure(store, config, { storePaths, environment: request.environment, digest: fetched.digest }, log, signal);
  lap('realise');
  const mode = activateMode(lock, request.mode);
  const profile = await store.profile(lock, config.system, { mode });
  lap('profile');

  const activation = profile.activation;
  const plan: PatchPlan = {
    hostStoreDir: dirname(store.hostPath(profile.closure[0] ?? storePaths[0] ?? '')),
    storePaths: profile.closure,
    storeView: profile.storeView,
    profile: { hostPath: profile.hostPath, containerPath: profile.containerPath },
    // Variables that need shell expansion are exported by the wrapper instead.
    env: activation.plan.env.filter((v) => v.expand !== true).map(({ name, value, merge }) => ({ name, value, merge })),
    applied: { environment: request.environment, digest: fetched.digest },
  };
  if (activation.wrapper !== undefined) plan.wrapper = { shell: wrapperShell(profile, store.hostStoreDir, request.rootfs), script: activation.wrapper };
  // A wrapper shell taken from the image depends on the image: do not cache that plan.
  if (plan.wrapper === undefined || plan.wrapper.shell.startsWith(`${profile.containerPath}/`)) {
    writeCachedPlan(config.storeRoot, { digest: fetched.digest, system: config.system, mode: request.mode ?? 'manifest' }, plan);
  }
  log.log('info', 'environment prepared', {
    generation: fetched.generation,
    digest: fetched.digest,
    source: fetched.source,
    closureSize: profile.closure.length,
    mode,
    via: realised.via,
    fetched: realised.fetched,
  });
  return { plan, via: realised.via, fetched: realised.fetched, mode };
}
