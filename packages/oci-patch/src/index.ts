export {
  ANNOTATIONS,
  appliedEnvironment,
  shouldPatch,
  shouldPatchExec,
  type ActivateMode,
  type ShouldPatchResult,
} from './annotations.ts';
export { mergeEnvironment } from './env.ts';
export {
  OciAnnotationInvalidError,
  OciMountCollisionError,
  OciPatchError,
  OciPatchPlanInvalidError,
  OciSpecAlreadyPatchedError,
  OciSpecInvalidError,
} from './errors.ts';
export { planMounts, STORE_MOUNT_OPTIONS } from './mounts.ts';
export { patchExecProcess } from './patch-exec.ts';
export { patchSpec } from './patch-spec.ts';
export {
  parseStorePath,
  STORE_DIR,
  validateExecPlan,
  validatePatchPlan,
  type EnvMerge,
  type NixMutablePlan,
  type PatchPlan,
  type PlanVariable,
  type StorePathParts,
  type StoreView,
} from './plan.ts';
export {
  mountSchema,
  parseProcess,
  parseSpec,
  processSchema,
  specSchema,
  type Mount,
  type Process,
  type Spec,
} from './spec-schema.ts';
export { nixMutableScratchDirs, processUser, type OverlayScratch } from './writable.ts';
