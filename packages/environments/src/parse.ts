import { LockfileInvalidError, LockfileVersionUnsupportedError, parseLockfile, type EnvironmentRef, type Lockfile } from '@flox-k8s/lockfile';
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

/**
 * Parses the lockfile of a fetched environment; a bad lockfile is the source's fault. The
 * message never repeats what the source served (it reaches the pod's events, and a source may
 * serve any file): it says what kind of problem, the size and the digest. The parser's own
 * error, with its details, is the `cause`.
 */
export function parseFetched(fetched: FetchedEnvironment): Lockfile {
  try {
    return parseLockfile(fetched.bytes);
  } catch (error) {
    const code = errorCode(error) ?? 'FLOXK8S_LOCKFILE_INVALID';
    throw new EnvironmentSourceError(
      `${fetched.source}: generation ${fetched.generation} of ${fetched.ref.owner}/${fetched.ref.name} is not a valid lockfile ` +
        `(${code}: ${problemKind(error)}; ${fetched.bytes.byteLength} bytes, sha256 ${fetched.digest}); validate it with @flox-k8s/lockfile and publish it again`,
      { cause: error },
    );
  }
}

/** What was wrong, in words of our own (the parser's messages quote the input). */
function problemKind(error: unknown): string {
  if (error instanceof LockfileVersionUnsupportedError) return 'an unsupported lockfile-version';
  if (error instanceof LockfileInvalidError) {
    const n = error.issues.length;
    return error.issues[0]?.path === '' ? 'not a JSON lockfile object at all' : `${n} problem${n === 1 ? '' : 's'} against the lockfile-version 1 schema`;
  }
  return 'unreadable';
}

