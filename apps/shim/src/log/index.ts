import { appendFileSync, mkdirSync } from 'node:fs';
import { dirname } from 'node:path';
import type { Logger } from '@flox-k8s/interposer';

export type { Logger } from '@flox-k8s/interposer';

/**
 * Appends JSON lines to `path` (creating its directory). The shim never logs to
 * stdout/stderr: containerd reads them. Logging failures are swallowed: a full disk
 * must not turn into a failed container start.
 */
export function fileLogger(path: string, base: Record<string, unknown> = {}): Logger {
  let ready = false;
  return {
    log(level, msg, fields = {}) {
      const line = `${JSON.stringify({ time: new Date().toISOString(), level, msg, ...base, ...fields }, errorReplacer)}\n`;
      try {
        if (!ready) {
          mkdirSync(dirname(path), { recursive: true });
          ready = true;
        }
        appendFileSync(path, line);
      } catch {
        // nowhere else to report it
      }
    },
  };
}

/** A logger that drops everything (before the config names the log file). */
export const nullLogger: Logger = { log() {} };

function errorReplacer(_key: string, value: unknown): unknown {
  if (value instanceof Error) {
    return { name: value.name, message: value.message, code: (value as { code?: unknown }).code, stack: value.stack };
  }
  return value;
}
