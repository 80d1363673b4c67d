// The SBOMs of a generation being published, from the verified narinfos of its closure
// (no NAR is downloaded). Loaded by publish only when SBOMs are asked for, so code that
// merely resolves environments (the shim) never loads the SBOM writers.
import { lockfileSystems, type Lockfile } from '@flox-k8s/lockfile';
import { BinaryCacheClient, type CacheConfig } from '@flox-k8s/nar';
import { closureFromCache, cycloneDxJson, environmentSbom, spdxJson } from '@flox-k8s/sbom';
import { errorCode } from '@flox-k8s/core';
import { PublishSbomError } from './errors.ts';
import { sbomFileName } from './sbom-layout.ts';

/** How publish gets the closure's path infos: the binary caches, with the keys that must sign them. */
export interface PublishSbomOptions {
  caches: CacheConfig[];
  trustedKeys: string[];
  /** Systems to describe; default: every system the lockfile has packages for. */
  systems?: string[];
  /** Date the documents (whole seconds); default: no wall clock (byte-identical for the same inputs). */
  timestamp?: Date;
  signal?: AbortSignal;
}

/** File name → document, for every system and both formats. Throws `FLOXK8S_ENV_PUBLISH_SBOM_FAILED`. */
export async function publishedSboms(lock: Lockfile, owner: string, name: string, generation: number, options: PublishSbomOptions): Promise<Map<string, string>> {
  const systems = options.systems ?? lockfileSystems(lock);
  const client = new BinaryCacheClient({ caches: options.caches, trustedKeys: options.trustedKeys });
  const files = new Map<string, string>();
  try {
    for (const system of [...new Set(systems)].sort()) {
      let sbom;
      try {
        const closure = await closureFromCache(client, lock, system, options.signal === undefined ? {} : { signal: options.signal });
        sbom = environmentSbom({ lockfile: lock, system, closure, environment: { owner, name, generation }, timestamp: options.timestamp });
      } catch (cause) {
        throw new PublishSbomError(
          `${owner}/${name} generation ${generation}: cannot describe its closure on ${system} (${errorCode(cause) ?? 'unknown error'}: ${(cause as Error).message}); nothing was published`,
          { cause },
        );
      }
      files.set(sbomFileName(system, 'cyclonedx'), cycloneDxJson(sbom));
      files.set(sbomFileName(system, 'spdx'), spdxJson(sbom));
    }
  } finally {
    await client.close();
  }
  return files;
}
