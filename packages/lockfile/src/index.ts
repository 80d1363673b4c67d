export { activationScript, resolveActivationEnv, type ActivationScriptOptions } from './activation-script.ts';
export { activationWrapper, type ActivationWrapperOptions } from './activation-wrapper.ts';
export { activateMode, type ActivateMode } from './activate-mode.ts';
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
// Store path syntax is @flox-k8s/core's (one rule for every package); re-exported for compatibility.
export { isStorePath, storePathProblem, STORE_DIR } from '@flox-k8s/core';
export type * from './types.ts';
