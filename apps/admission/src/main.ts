#!/usr/bin/env node
// flox-admission: the validating and mutating admission webhook (see ../README.md).
import { loadAdmissionConfig } from './config.ts';
import { readAdmissionEnv } from './env.ts';
import { codeOf } from './errors.ts';
import { jsonLog } from './log.ts';
import { startWebhook } from './webhook.ts';

const boot = jsonLog('info');
try {
  const config = loadAdmissionConfig(readAdmissionEnv().configPath);
  const log = jsonLog(config.logLevel);
  const webhook = await startWebhook(config, log);
  const shutdown = (signal: string): void => {
    log('info', 'shutting down', { signal });
    void webhook.close().then(() => process.exit(0));
  };
  process.once('SIGTERM', () => shutdown('SIGTERM'));
  process.once('SIGINT', () => shutdown('SIGINT'));
} catch (error) {
  boot('error', 'flox-admission failed to start', { code: codeOf(error), error });
  process.exitCode = 1;
}
