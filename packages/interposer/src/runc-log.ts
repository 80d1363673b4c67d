import { appendFileSync } from 'node:fs';
import type { RuncGlobals } from './argv.ts';

/**
 * Records an error where containerd looks for runc's: the last `"level":"error"` line
 * of the `--log` file becomes the "OCI runtime create failed: …" message that kubelet
 * shows as the pod event.
 */
export function appendRuncLogError(globals: RuncGlobals, message: string): void {
  if (globals.log === undefined) return;
  const time = new Date().toISOString();
  const line =
    globals.logFormat === 'json'
      ? `${JSON.stringify({ level: 'error', msg: message, time })}\n`
      : `time="${time}" level=error msg=${JSON.stringify(message)}\n`;
  try {
    appendFileSync(globals.log, line);
  } catch {
    // containerd still gets our stderr line and exit status
  }
}
