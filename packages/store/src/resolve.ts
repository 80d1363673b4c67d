import type { BinaryCacheClient, FoundNarinfo } from '@flox-k8s/nar';

/**
 * Looks up narinfos for `unknown` and, transitively, for the references that
 * are not valid locally. Unlike `BinaryCacheClient.closure`, it stops at paths
 * the store already has: a new environment sharing glibc with an old one asks
 * the cache only about what is new.
 */
export async function resolveMissing(
  client: BinaryCacheClient,
  unknown: readonly string[],
  isValid: (storePath: string) => boolean,
  storeDir: string,
  concurrency: number,
  signal: AbortSignal | undefined,
): Promise<Map<string, FoundNarinfo>> {
  const found = new Map<string, FoundNarinfo>();
  const seen = new Set(unknown);
  const queue = [...unknown];
  let failure: unknown;
  const worker = async (): Promise<void> => {
    for (let path = queue.shift(); path !== undefined && failure === undefined; path = queue.shift()) {
      try {
        const entry = await client.narinfo(path, { signal });
        found.set(path, entry);
        for (const ref of entry.narinfo.references) {
          const full = `${storeDir}/${ref}`;
          if (seen.has(full)) continue;
          seen.add(full);
          if (!isValid(full)) queue.push(full);
        }
      } catch (err) {
        failure ??= err;
      }
    }
  };
  // Workers exit when the queue is momentarily empty; restart them until it stays empty.
  while (queue.length > 0 && failure === undefined) {
    await Promise.all(Array.from({ length: Math.min(concurrency, queue.length) }, worker));
  }
  if (failure !== undefined) throw failure;
  return found;
}
