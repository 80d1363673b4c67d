// Where a published generation's SBOMs live: beside its manifest.lock, one per system and format:
//   <base>/<owner>/<name>/generations/<N>/sbom.<system>.cdx.json    CycloneDX 1.6
//   <base>/<owner>/<name>/generations/<N>/sbom.<system>.spdx.json   SPDX 2.3
import { EnvironmentRefInvalidError } from '@flox-k8s/lockfile/reference';
import { checkSegment } from './layout.ts';

/** SBOM formats a generation is published with. */
export type PublishedSbomFormat = 'cyclonedx' | 'spdx';

const EXTENSION: Record<PublishedSbomFormat, string> = { cyclonedx: 'cdx.json', spdx: 'spdx.json' };
// Nix system doubles: x86_64-linux, aarch64-darwin, …
const SYSTEM = /^[a-z0-9_]{1,32}-[a-z0-9_]{1,32}$/;

/** The file name of an SBOM inside a generation directory. */
export function sbomFileName(system: string, format: PublishedSbomFormat): string {
  if (!SYSTEM.test(system)) throw new EnvironmentRefInvalidError(system, 'system: expected a Nix system such as x86_64-linux');
  return `sbom.${system}.${EXTENSION[format]}`;
}

/** Path of a generation's SBOM relative to a source's base. */
export function sbomPath(owner: string, name: string, generation: number, system: string, format: PublishedSbomFormat): string {
  return `${checkSegment('owner', owner)}/${checkSegment('name', name)}/generations/${generation}/${sbomFileName(system, format)}`;
}
