// Path infos for an SBOM straight from binary caches: only narinfos are fetched
// (never a NAR), each one signature-checked by the client against its trusted keys.
import { storePathsToInstall, type Lockfile, type NixSystem } from '@flox-k8s/lockfile';
import type { BinaryCacheClient, Narinfo } from '@flox-k8s/nar';
import { compareStrings } from './path-info.ts';

/**
 * The verified narinfos of the closure of everything `lockfile` installs on `system`,
 * sorted by store path: the `closure` input of `environmentSbom`. Walks References
 * with `client.closure`, so a missing path throws the client's
 * `FLOXK8S_NARINFO_NOT_FOUND` and an unsigned or badly signed narinfo its signature error.
 */
export async function closureFromCache(
  client: Pick<BinaryCacheClient, 'closure'>,
  lockfile: Lockfile,
  system: NixSystem,
  options: { signal?: AbortSignal; concurrency?: number } = {},
): Promise<Narinfo[]> {
  const found = await client.closure(storePathsToInstall(lockfile, system), options);
  return [...found.values()].map((f) => f.narinfo).sort((a, b) => compareStrings(a.storePath, b.storePath));
}
