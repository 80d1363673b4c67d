import { BinaryCacheClient, type CacheConfig } from '@flox-k8s/nar';
import { trimFreedMemory } from '@flox-k8s/nar/process-env';
import { RealiseTally, type Store } from '@flox-k8s/store';
import type { ClosureRealiser, RealiseOutcome } from './types.ts';

export interface StoreRealiserOptions {
  store: Store;
  caches: CacheConfig[];
  trustedKeys: string[];
  concurrency?: number;
  /** Lease taken on each realised closure so GC cannot slip in before the container starts (default 15 min). */
  leaseTtlMs?: number;
}

/**
 * `ClosureRealiser` on `@flox-k8s/store`, with one long-lived cache client so connections and
 * narinfo lookups are shared by every realise (and the per-cache byte counts come from its cache).
 */
export function storeRealiser(options: StoreRealiserOptions): ClosureRealiser & { close(): Promise<void> } {
  const { store } = options;
  const client = new BinaryCacheClient({ caches: options.caches, trustedKeys: options.trustedKeys, storeDir: store.storeDir });
  return {
    storeRoot: store.root,
    async realise(job, { signal, onProgress }): Promise<RealiseOutcome> {
      const tally = new RealiseTally();
      // The realise's buffers come back to glibc's heap in pieces: hand them back to the system
      // after it, so a running agent's next realise starts lower (@flox-k8s/nar, trimFreedMemory).
      const result = await store.realise(job.storePaths, {
        caches: options.caches,
        trustedKeys: options.trustedKeys,
        client,
        signal,
        lease: { id: `realise-${job.digest}`, ttlMs: options.leaseTtlMs ?? 15 * 60_000 },
        ...(options.concurrency === undefined ? {} : { concurrency: options.concurrency }),
        onProgress: (event) => {
          const totals = tally.update(event);
          if (event.type === 'resolved') onProgress({ phase: 'resolve', totalBytes: event.narBytes, totalPaths: event.missing, ...totals });
          else if (event.type === 'fetch-progress') onProgress({ phase: 'fetch', storePath: event.storePath, bytes: event.bytesOut, totalBytes: event.narSize, ...totals });
          else if (event.type === 'fetched') onProgress({ phase: 'unpack', storePath: event.storePath, bytes: event.narSize, totalBytes: event.narSize, ...totals });
          else if (event.type === 'registered') onProgress({ phase: 'registered', storePath: event.storePath, ...totals });
          else if (event.type === 'present') onProgress({ phase: 'present', storePath: event.storePath, ...totals });
        },
      }).finally(() => trimFreedMemory());
      const bytesByCache: Record<string, number> = {};
      for (const path of result.fetched) {
        // Answered from the client's narinfo cache: the realise just looked these up.
        const found = await client.narinfo(path, { signal }).catch(() => undefined);
        if (!found) continue;
        const url = found.cache.url;
        bytesByCache[url] = (bytesByCache[url] ?? 0) + (found.narinfo.fileSize ?? found.narinfo.narSize);
      }
      return {
        closure: result.closure,
        fetched: result.fetched,
        present: result.present,
        bytesDownloaded: result.bytesDownloaded,
        narBytes: result.narBytes,
        durations: result.durations,
        bytesByCache,
      };
    },
    close: () => client.close(),
  };
}
