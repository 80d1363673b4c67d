/**
 * `@flox-k8s/interposer`: what the runc interposer does for one `runc create` or
 * `runc exec`: decide (`shouldPatch`), resolve the environment, realise its closure,
 * build the profile, patch `config.json` or the exec process; with a plan cache for warm
 * starts. Run once per process (the shim's runc front) or as a long-lived patch service
 * (the node agent). `@flox-k8s/interposer/interpose` is the entry alone, with create and
 * exec loaded on demand from `./create` and `./exec`.
 * @module
 */
export { interposeRunc, failure, callerGlobals, type InterposeOutcome, type InterposerModules, type CallerPath } from './interpose.ts';
export type { InterposeState, InterposerContext, StoreViewMounter, ViewCaller } from './context.ts';
export { parseRuncArgv, DEFAULT_RUNC_ROOT, type RuncInvocation, type RuncGlobals } from './argv.ts';
export { appendRuncLogError } from './runc-log.ts';
export { PLAN_CACHE_FORMAT } from './plan-cache.ts';
export { FLOX_ENV_CACHE_DIR } from './container-plan.ts';
export { mutableRoot, sweepMutableScratch } from './nix-mutable.ts';
export { listenPatchService, type PatchService, type PatchServiceOptions } from './patch-service/server.ts';
export { ViewMounter, type ViewMounterOptions, type ViewMountEvent } from './patch-service/view-mounter.ts';
export { wantsMountedView } from './store-views.ts';
export type { PatchRequestReport } from './patch-service/handle.ts';
export type { Logger, LogLevel } from './log.ts';
export {
  BundleInvalidError,
  CreateTimeoutError,
  MountSourceInvalidError,
  NixMutableError,
  PatchServiceError,
  PodTokenInvalidError,
  ReservedAnnotationError,
  RuncArgvError,
  WrapperShellMissingError,
  type MountSourceProblem,
} from './errors.ts';
export { verifyMountSources } from './mount-sources.ts';
