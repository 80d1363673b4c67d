import type { ShimConfig } from '@flox-k8s/config';
import type { Logger } from './log.ts';

export interface InterposerContext {
  config: ShimConfig;
  log: Logger;
}

/** What main needs to report a failure: the environment (for the message) and the log. */
export interface InterposeState {
  /** performance.now() when the entry module was evaluated (or the snapshot deserialized). */
  loadedAt?: number;
  /** Which entry point runs: the startup snapshot, the ESM bundle or the node agent's patch service (logged). */
  entry?: 'snapshot' | 'module' | 'service';
  /**
   * Config and log for one create (fields: the container and environment, for the log):
   * the shim loads its config file and opens its log, the patch service has both already.
   */
  context: (fields: Record<string, unknown>) => InterposerContext;
  environment?: string;
  log?: Logger;
  /**
   * Called when the plan cache cannot serve this create, before the cold-start code
   * loads; the startup snapshot (which does not hold that code) hands over to the ESM
   * bundle here. Nothing has been written at that point.
   */
  beforeColdStart?: () => void;
}
