export { closureFromCache } from './cache.ts';
export { cycloneDxJson } from './cyclonedx.ts';
export { parseDrvName, type DrvName } from './drv-name.ts';
export {
  environmentSbom,
  type EnvironmentIdentity,
  type EnvironmentSbom,
  type EnvironmentSbomInput,
  type SbomComponent,
  type SbomEnvironment,
} from './environment-sbom.ts';
export {
  ClosureIncompleteError,
  ClosureUnreachableError,
  PathInfoDuplicateError,
  PathInfoInvalidError,
  SbomError,
  PackageSelectorInvalidError,
  SbomOptionsInvalidError,
  VersionRangeInvalidError,
} from './errors.ts';
export type { PackageLicense } from './licenses.ts';
export { compareVersions, versionComponents } from './nix-version.ts';
export { packageMatcher, type PackageIdentity, type PackageMatcher, type PackageSelector } from './package-selector.ts';
export { parseVersionRange, versionInRange, type VersionComparator, type VersionRange } from './version-range.ts';
export type { ClosurePath, ClosurePathInfo } from './path-info.ts';
export { sbomSerialNumber } from './serial.ts';
export { spdxJson } from './spdx.ts';
export { SBOM_TOOL } from './tool.ts';
