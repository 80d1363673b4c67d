import { loadConfig } from '@flox-k8s/config';
import type { InterposerContext } from '@flox-k8s/interposer/interpose';
import { readEnv } from '../env.ts';
import { fileLogger } from '../log/index.ts';

/** Loads the config (FLOXK8S_CONFIG or the default path) and opens the log file. */
export function loadContext(fields: Record<string, unknown>): InterposerContext {
  const env = readEnv();
  const config = loadConfig(env.configPath, { required: env.configExplicit });
  return { config, log: fileLogger(config.logFile, { component: 'runc-interposer', pid: process.pid, ...fields }) };
}
