// SPDX 2.3 JSON, written by hand: no maintained npm builder exists. Key order
// is fixed here and every list is sorted, so equal inputs give equal bytes.
// SPDX has no property bag, so the store path goes in packageFileName and the
// NarSize in the package comment; the graph is DEPENDS_ON relationships.
import { createHash } from 'node:crypto';
import type { EnvironmentSbom, SbomComponent } from './environment-sbom.ts';
import type { PackageLicense } from './licenses.ts';
import { compareStrings } from './path-info.ts';
import { SBOM_TOOL } from './tool.ts';

const NOASSERTION = 'NOASSERTION';
const ROOT_ID = 'SPDXRef-environment';
// SPDX requires a creation time; without one the document says the Unix epoch
// (as Nix dates every store file), so it still depends on its inputs only.
const EPOCH = '1970-01-01T00:00:00Z';

// The fields this writer sets; the schema has many more.
interface SpdxPackage {
  SPDXID: string;
  name: string;
  versionInfo?: string;
  packageFileName?: string;
  downloadLocation: string;
  filesAnalyzed: boolean;
  checksums: Array<{ algorithm: 'SHA256'; checksumValue: string }>;
  licenseConcluded: string;
  licenseDeclared: string;
  copyrightText: string;
  description?: string;
  comment: string;
  externalRefs?: Array<{ referenceCategory: 'PACKAGE-MANAGER'; referenceType: 'purl'; referenceLocator: string }>;
  primaryPackagePurpose?: 'APPLICATION';
}

interface SpdxRelationship {
  spdxElementId: string;
  relationshipType: 'DESCRIBES' | 'DEPENDS_ON';
  relatedSpdxElement: string;
}

/** SPDX 2.3 JSON of the SBOM: two-space indented, lists sorted, with a final newline. */
export function spdxJson(sbom: EnvironmentSbom): string {
  const env = sbom.environment;
  const ids = new Map(sbom.components.map((c) => [c.storePath, spdxId(c)]));
  const licenseRefs = new LicenseRefs();
  // The environment first, then the store paths in store-path order.
  const packages = [rootPackage(sbom), ...sbom.components.map((c) => componentPackage(c, ids.get(c.storePath)!, licenseRefs))];

  const relationships: SpdxRelationship[] = [{ spdxElementId: 'SPDXRef-DOCUMENT', relationshipType: 'DESCRIBES', relatedSpdxElement: ROOT_ID }];
  for (const storePath of sbom.installed) relationships.push(dependsOn(ROOT_ID, ids.get(storePath)!));
  for (const c of sbom.components) for (const dep of c.dependsOn) relationships.push(dependsOn(ids.get(c.storePath)!, ids.get(dep)!));
  relationships.sort(
    (a, b) =>
      compareStrings(a.spdxElementId, b.spdxElementId) ||
      compareStrings(a.relationshipType, b.relationshipType) ||
      compareStrings(a.relatedSpdxElement, b.relatedSpdxElement),
  );

  const extracted = licenseRefs.infos();
  const document = {
    spdxVersion: 'SPDX-2.3',
    dataLicense: 'CC0-1.0',
    SPDXID: 'SPDXRef-DOCUMENT',
    name: `${env.owner}/${env.name}${env.generation === undefined ? '' : `:${env.generation}`} ${env.system}`,
    documentNamespace: sbom.serialNumber,
    creationInfo: {
      created: sbom.timestamp === undefined ? EPOCH : sbom.timestamp.toISOString().replace(/\.\d{3}Z$/, 'Z'),
      creators: [`Tool: ${SBOM_TOOL.name}-${SBOM_TOOL.version}`],
    },
    packages,
    relationships,
    ...(extracted.length === 0 ? {} : { hasExtractedLicensingInfos: extracted }),
  };
  return `${JSON.stringify(document, null, 2)}\n`;
}

function rootPackage(sbom: EnvironmentSbom): SpdxPackage {
  const env = sbom.environment;
  return {
    SPDXID: ROOT_ID,
    name: `${env.owner}/${env.name}`,
    ...(env.generation === undefined ? {} : { versionInfo: String(env.generation) }),
    downloadLocation: NOASSERTION,
    filesAnalyzed: false,
    checksums: [{ algorithm: 'SHA256', checksumValue: env.lockfileDigest }],
    licenseConcluded: NOASSERTION,
    licenseDeclared: NOASSERTION,
    copyrightText: NOASSERTION,
    description: `Flox environment ${env.owner}/${env.name} on ${env.system}`,
    comment: `Reference ${env.ref}; the checksum is the sha256 of its manifest.lock.`,
    primaryPackagePurpose: 'APPLICATION',
  };
}

function componentPackage(c: SbomComponent, id: string, licenseRefs: LicenseRefs): SpdxPackage {
  return {
    SPDXID: id,
    name: c.name,
    ...(c.version === '' ? {} : { versionInfo: c.version }),
    packageFileName: c.storePath,
    downloadLocation: NOASSERTION,
    filesAnalyzed: false,
    checksums: [{ algorithm: 'SHA256', checksumValue: c.narHashHex }],
    licenseConcluded: NOASSERTION,
    licenseDeclared: licenseRefs.expression(c.licenses),
    copyrightText: NOASSERTION,
    ...(c.description === undefined ? {} : { description: c.description }),
    comment: `Nix store path ${c.storePath}; NarHash ${c.narHash} (the checksum, in hex), NarSize ${c.narSize}.`,
    externalRefs: [{ referenceCategory: 'PACKAGE-MANAGER', referenceType: 'purl', referenceLocator: c.purl }],
  };
}

// `SPDXRef-` allows only letters, digits, "." and "-"; the store hash alone makes the id unique.
function spdxId(c: SbomComponent): string {
  const hash = c.storePath.slice(c.storePath.lastIndexOf('/') + 1, c.storePath.lastIndexOf('/') + 33);
  return `SPDXRef-${hash}-${c.storeName.replace(/[^A-Za-z0-9.-]/g, '-')}`;
}

function dependsOn(from: string, to: string): SpdxRelationship {
  return { spdxElementId: from, relationshipType: 'DEPENDS_ON', relatedSpdxElement: to };
}

// Licences not on the SPDX list become `LicenseRef-<name>` with the name as its text.
// A nixpkgs licence list does not say whether it is a choice or a conjunction, so it
// is declared with AND: the reading that never understates the obligations.
class LicenseRefs {
  readonly #byName = new Map<string, string>();

  expression(licenses: readonly PackageLicense[]): string {
    if (licenses.length === 0) return NOASSERTION;
    const terms = [...new Set(licenses.map((l) => (l.kind === 'spdx' ? l.id : this.#ref(l.name))))].sort(compareStrings);
    return terms.join(' AND ');
  }

  infos(): Array<{ licenseId: string; name: string; extractedText: string; comment: string }> {
    return [...this.#byName.entries()]
      .map(([name, licenseId]) => ({
        licenseId,
        name,
        extractedText: name,
        comment: 'The license as nixpkgs meta.license names it in the Flox lockfile; it is not on the SPDX License List.',
      }))
      .sort((a, b) => compareStrings(a.licenseId, b.licenseId));
  }

  #ref(name: string): string {
    let id = this.#byName.get(name);
    if (id === undefined) {
      // The readable part may collide ("A B" and "A-B"); the hash of the exact name keeps ids apart.
      const readable = name.replace(/[^A-Za-z0-9.-]+/g, '-').replace(/^-+|-+$/g, '').slice(0, 64) || 'license';
      id = `LicenseRef-${readable}-${createHash('sha256').update(name).digest('hex').slice(0, 8)}`;
      this.#byName.set(name, id);
    }
    return id;
  }
}
