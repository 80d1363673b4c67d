import type { FetchedEnvironment } from './resolve.ts';
import { sbomPath, type PublishedSbomFormat } from './sbom-layout.ts';
import type { SourceReader } from './types.ts';

/** Largest published SBOM read from a source. */
export const MAX_SBOM_BYTES: number = 64 * 1024 * 1024;

/**
 * The SBOM published beside a fetched generation, from the source that served its lockfile
 * (its bytes, unchecked: parse and compare them with the lockfile before trusting them),
 * or undefined when that generation has none for this system and format.
 */
export async function readPublishedSbom(
  fetched: FetchedEnvironment,
  readers: readonly SourceReader[],
  system: string,
  format: PublishedSbomFormat,
): Promise<Uint8Array | undefined> {
  const reader = readers.find((r) => r.label === fetched.source);
  if (reader === undefined) return undefined;
  return reader.read(sbomPath(fetched.ref.owner, fetched.ref.name, fetched.generation, system, format), MAX_SBOM_BYTES);
}
