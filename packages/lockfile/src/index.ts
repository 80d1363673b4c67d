export { activationScript, resolveActivationEnv, type ActivationScriptOptions } from './activation-script.ts';
export { activationPlan, type ActivationOptions, type ActivationPlan, type ActivationVariable } from './activation.ts';
export { formatEnvironmentRef, parseEnvironmentRef, MAX_ENVIRONMENT_REF_LENGTH, type EnvironmentRef } from './environment-ref.ts';
export {
  ActivationOptionsInvalidError,
  EnvironmentRefInvalidError,
  LockfileError,
  LockfileInvalidError,
  LockfileVersionUnsupportedError,
  SystemNotInLockfileError,
  type LockfileIssue,
} from './errors.ts';
export { lockfileSystems, packagesFor, storePathsToInstall, type PackageToInstall } from './install.ts';
export { SUPPORTED_SCHEMA_VERSIONS } from './manifest-schema.ts';
export { lockfileDigest, MAX_LOCKFILE_BYTES, parseLockfile } from './parse.ts';
export { isStorePath, storePathProblem, STORE_DIR } from './store-path.ts';
export type * from './types.ts';
