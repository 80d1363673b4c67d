import { storePathsToInstall } from '@flox-k8s/lockfile';
import type { ShimConfig } from '@flox-k8s/config';
import { parseReference, resolveEnvironment, sourceReaders, type ResolvedEnvironment } from '@flox-k8s/environments';
import type { ResolvedEnvironmentJob } from './prefetcher.ts';

/**
 * Annotation value → realise job, through exactly the code the shim runs at container create
 * (same sources, same lockfile selection), so the agent fetches what the shim will ask for.
 */
export function environmentResolver(config: Pick<ShimConfig, 'sources' | 'system'>): (reference: string) => Promise<ResolvedEnvironmentJob & { context: ResolvedEnvironment }> {
  const readers = sourceReaders(config.sources);
  return async (reference) => {
    const resolved = await resolveEnvironment(parseReference(reference), readers);
    return {
      storePaths: storePathsToInstall(resolved.lock, config.system),
      environment: reference,
      digest: resolved.digest,
      context: resolved,
    };
  };
}
