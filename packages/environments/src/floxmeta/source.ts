import type { FloxmetaSource } from '@flox-k8s/config';
import type { EnvironmentRef } from '@flox-k8s/lockfile/reference';
import type { ReferenceSourceReader, RequestToken } from '../types.ts';
import { FloxmetaCache, type FloxmetaHit } from './cache.ts';

/**
 * FloxHub's git-backed environments: `owner/name` is the branch `name` of
 * `<url>/<owner>/floxmeta`, read over git's smart HTTP protocol. Pinned generations and
 * digests are answered from the node's cache once read (no request); a live reference
 * reads the branch tip every time (or within `liveTtlMs`) and fetches only when it moved.
 * The git client loads only when the remote must be asked.
 */
export function floxmetaSourceReader(source: FloxmetaSource, token?: RequestToken): ReferenceSourceReader {
  const label = `floxmeta ${source.url}`;
  const cache = new FloxmetaCache(source.cacheDir, source.url);
  return {
    label,
    async resolve(ref) {
      const cached = fromCache(cache, ref, source.liveTtlMs);
      if (cached !== undefined) return cached;
      const { readFromRemote } = await import('./read.ts');
      return readFromRemote({ source, label, cache, ref, ...(token === undefined ? {} : { token }) });
    },
  };
}

function fromCache(cache: FloxmetaCache, ref: EnvironmentRef, liveTtlMs: number): FloxmetaHit | undefined {
  switch (ref.kind) {
    case 'generation':
      return cache.generation(ref.owner, ref.name, ref.generation);
    case 'digest':
      return cache.byDigest(ref.owner, ref.name, ref.digest);
    case 'live': {
      if (liveTtlMs === 0) return undefined;
      const tip = cache.liveTip(ref.owner, ref.name);
      return tip !== undefined && Date.now() - tip.readAt < liveTtlMs ? cache.commit(ref.owner, ref.name, tip.commit) : undefined;
    }
  }
}
