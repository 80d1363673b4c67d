export { nixFixtures, KEY_NAME, type NixFixtures, type NixFixturesOptions } from './fixtures.ts';
export { serveCache, type ServeCacheOptions, type ServedCache } from './serve-cache.ts';
export { serveHub, type ServeHubOptions, type ServedHub } from './serve-hub.ts';
export { FIXTURE_ACTIVATION, FIXTURE_SYSTEM } from './fixture-lockfile.ts';
export { BUSYBOX_APPLETS, FIXTURE_PACKAGES } from './fixtures-expression.ts';
export { COMPRESSIONS, type Compression } from './nix.ts';
export {
  BARE_INSTALL_OPTIONS,
  nixCommand,
  nixShellCommand,
  runNix,
  runNixSync,
  type NixProgram,
  type NixRunOptions,
} from './nix-command.ts';
export {
  FixtureInputMissingError,
  FixtureLockTimeoutError,
  FixtureManifestInvalidError,
  NixCommandError,
  NixFixturesError,
  NixOutputUnexpectedError,
} from './errors.ts';
export { nixBenchFixtures, type NixBenchFixtures, type NixBenchFixturesOptions } from './bench.ts';
export { nixSkipReason } from './availability.ts';
export { nixLargeFixtures, type NixLargeFixtures, type NixLargeFixturesOptions } from './large.ts';
export type { LargeVariant } from './large-variant.ts';
export { nixWideFixtures, type NixWideFixtures, type NixWideFixturesOptions } from './wide.ts';
export type { FixtureProgram } from './large-programs.ts';
export type { ClosureStats } from './closure-listing.ts';
export { FixturePlanInvalidError } from './errors.ts';
export { treeDigest } from './tree-digest.ts';
