// Licences as the lockfile gives them (nixpkgs `meta.license`: SPDX ids such as
// `GPL-3.0-or-later`, or free names such as `Public Domain`), sorted into what
// both SBOM formats can say about them.
import { SPDX } from '@cyclonedx/cyclonedx-library';

/** A licence of a package: an id on the SPDX License List, or a name that is not one. */
export type PackageLicense = { kind: 'spdx'; id: string } | { kind: 'name'; name: string };

/** Classify one licence string; SPDX ids are matched case-insensitively and written in their listed case. */
export function packageLicense(text: string): PackageLicense {
  const id = SPDX.fixupSpdxId(text);
  return id === undefined ? { kind: 'name', name: text } : { kind: 'spdx', id };
}
