import type { ShimConfig } from '@flox-k8s/config';
import type { PatchPlan } from '@flox-k8s/oci-patch';
import type { Logger } from './log.ts';

/** The runc caller of one create: its pid, mount namespace and how this process reaches its paths. */
export interface ViewCaller {
  pid: number;
  namespace: string;
  path: CallerPath;
}

/** Told of each create that bound every store path on its own (the patch service's ViewMounter). */
export interface StoreViewMounter {
  created(plan: PatchPlan, caller: ViewCaller): void;
}

export interface InterposerContext {
  config: ShimConfig;
  log: Logger;
  /**
   * The NAR fetch worker module of an in-process realise (`@flox-k8s/store`'s `fetchWorker`):
   * the entry point a bundled caller emits beside itself; default the store's own.
   */
  fetchWorker?: URL | undefined;
  /** The patch service's store view mounts (absent in the per-create Node, which only uses mounted views). */
  storeViews?: StoreViewMounter | undefined;
}

/** What main needs to report a failure: the environment (for the message) and the log. */
export interface InterposeState {
  /** performance.now() when the entry module was evaluated. */
  loadedAt?: number;
  /** Which entry point runs: the shim's ESM bundle or the node agent's patch service (logged). */
  entry?: 'module' | 'service';
  /**
   * Config and log for one create (fields: the container and environment, for the log):
   * the shim loads its config file and opens its log, the patch service has both already.
   */
  context: (fields: Record<string, unknown>) => InterposerContext;
  environment?: string;
  log?: Logger;
  /**
   * The process that becomes `runc create` (its container's GC root lives while it runs):
   * the runc front the patch service answers; default this process (the per-create Node,
   * which execs runc).
   */
  creatorPid?: number;
}

/** A container's patch plan and how it was made (timings and `via` are logged). */
export interface PreparedPlan {
  plan: PatchPlan;
  timings: Record<string, number>;
  via: string;
  fetched: number;
  /** The activation mode (`manifest` on a warm start without an annotation: the manifest's own). */
  mode: string;
  /** verifyMountSources passed on `plan` through the caller's root, after its GC root was written (the warm path). */
  mountsVerified?: true;
}

/** Where this process sees a path of the runc caller (identity, unless it runs in another mount namespace). */
export type CallerPath = (path: string) => string;
