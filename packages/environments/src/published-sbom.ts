import type { FetchedEnvironment } from './resolve.ts';
import { sbomPath, type PublishedSbomFormat } from './sbom-layout.ts';
import type { EnvironmentSourceReader } from './types.ts';

/** Largest published SBOM read from a source. */
export const MAX_SBOM_BYTES: number = 64 * 1024 * 1024;

/**
 * The SBOM published beside a fetched generation, from the source that served its lockfile
 * (its bytes, unchecked: parse and compare them with the lockfile before trusting them),
 * or undefined when that generation has none for this system and format. A floxmeta source
 * (FloxHub) publishes no SBOMs: undefined, and callers compute one from the caches.
 */
export async function readPublishedSbom(
  fetched: FetchedEnvironment,
  readers: readonly EnvironmentSourceReader[],
  system: string,
  format: PublishedSbomFormat,
): Promise<Uint8Array | undefined> {
  const reader = readers.find((r) => r.label === fetched.source);
  if (reader === undefined || !('read' in reader)) return undefined;
  return reader.read(sbomPath(fetched.ref.owner, fetched.ref.name, fetched.generation, system, format), MAX_SBOM_BYTES);
}
