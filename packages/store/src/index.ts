export { DEFAULT_PROFILE_MOUNT_PATH, Store, type StoreOpenOptions } from './store.ts';
export type { RealiseOptions, RealiseProgress, RealiseResult } from './realise.ts';
export type { RealisePhase } from './phases.ts';
export { RealiseTally, type RealiseTotals } from './progress-tally.ts';
export type { ProfileActivation, ProfileOptions, ProfileResult } from './profile.ts';
export { STORE_VIEW_DIR, type StoreView } from './store-view.ts';
export type { ProfileShell } from './activation-assets.ts';
export type { GcOptions, GcResult } from './gc.ts';
export type { VerifyResult } from './verify.ts';
export type { StoreUsage } from './usage.ts';
export type { PathInfo, RootType } from './metadata.ts';
export type { Lease } from './roots.ts';
export { containerRootsDir, waitWhileGcRuns, writeContainerRoot, type ContainerRoot, type ContainerRootInput } from './container-roots.ts';
export { profilesDirOf } from './layout.ts';
export {
  claimForEviction,
  mountedViewUsable,
  mountNamespaceOf,
  mountStoreView,
  readViewMounts,
  StoreViewMountError,
  unmountAllStoreViews,
  unmountStoreView,
  viewMountsRecord,
  type MountViewRequest,
  type UnmountOutcome,
  type ViewMounts,
  type ViewMountStep,
} from './view-mounts.ts';
export type { RecoveryReport } from './recover.ts';
export { PROFILE_FORMAT } from './profile-format.ts';
export { buildEnv, canonicalContainerPath, type BuildEnvPackage, type HostMapper } from './buildenv.ts';
export {
  GcRootUnreadableError,
  ProfileCollisionError,
  ProfileConflictError,
  StoreAbortedError,
  StoreDiskFullError,
  StoreError,
  StoreFetchError,
  StoreFetchWorkerMissingError,
  StoreLockTimeoutError,
  StoreMetadataError,
  StoreOptionsError,
  StorePathInvalidError,
  StorePathMissingError,
  StoreReferenceCycleError,
  StoreWriteError,
  type GcRootProblem,
  type WriteFailureDetails,
} from './errors.ts';
