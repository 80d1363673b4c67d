import { loadConfig } from '../config/load.ts';
import type { ShimConfig } from '../config/schema.ts';
import { readEnv } from '../env.ts';
import { fileLogger, type Logger } from '../log/index.ts';

export interface InterposerContext {
  config: ShimConfig;
  log: Logger;
}

/** Loads the config (FLOXK8S_CONFIG or the default path) and opens the log file. */
export function loadContext(fields: Record<string, unknown>): InterposerContext {
  const env = readEnv();
  const config = loadConfig(env.configPath, { required: env.configExplicit });
  return { config, log: fileLogger(config.logFile, { component: 'runc-interposer', pid: process.pid, ...fields }) };
}

/** What main needs to report a failure: the environment (for the message) and the log. */
export interface InterposeState {
  /** performance.now() when the entry module was evaluated (or the snapshot deserialized). */
  loadedAt?: number;
  /** Which entry point runs: the startup snapshot, the ESM bundle or the node agent's patch service (logged). */
  entry?: 'snapshot' | 'module' | 'service';
  /** Config and log for one create; default loadContext (the config file the environment names). */
  context?: (fields: Record<string, unknown>) => InterposerContext;
  environment?: string;
  log?: Logger;
  /**
   * Called when the plan cache cannot serve this create, before the cold-start code
   * loads; the startup snapshot (which does not hold that code) hands over to the ESM
   * bundle here. Nothing has been written at that point.
   */
  beforeColdStart?: () => void;
}
