import { parseLockfile, type EnvironmentRef, type Lockfile } from '@flox-k8s/lockfile';
import { errorCode } from '@flox-k8s/core';
import { EnvironmentSourceError } from './errors.ts';
import { fetchEnvironment, type FetchedEnvironment, type ResolvedEnvironment } from './resolve.ts';
import type { EnvironmentSourceReader } from './types.ts';

/**
 * Resolves a reference to a lockfile through the sources, first match wins.
 * `@sha256:` pins must match the served lockfile's digest.
 */
export async function resolveEnvironment(ref: EnvironmentRef, readers: readonly EnvironmentSourceReader[]): Promise<ResolvedEnvironment> {
  const fetched = await fetchEnvironment(ref, readers);
  return { ...fetched, lock: parseFetched(fetched) };
}

/** Parses the lockfile of a fetched environment; a bad lockfile is the source's fault. */
export function parseFetched(fetched: FetchedEnvironment): Lockfile {
  try {
    return parseLockfile(fetched.bytes);
  } catch (error) {
    const code = errorCode(error) ?? 'FLOXK8S_LOCKFILE_INVALID';
    throw new EnvironmentSourceError(
      `${fetched.source}: generation ${fetched.generation} of ${fetched.ref.owner}/${fetched.ref.name} is not a valid lockfile (${code}): ${(error as Error).message}`,
      { cause: error },
    );
  }
}

