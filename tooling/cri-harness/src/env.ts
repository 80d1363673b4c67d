// The one module of the e2e harness that reads the environment.
import { homedir } from 'node:os';
import { join } from 'node:path';

/** `$FLOX_K8S_E2E_CACHE`, else `${XDG_CACHE_HOME:-$HOME/.cache}/flox-k8s/e2e`: downloaded containerd builds live here. */
export function e2eCacheDir(): string {
  const explicit = process.env['FLOX_K8S_E2E_CACHE'];
  if (explicit !== undefined && explicit !== '') return explicit;
  const xdg = process.env['XDG_CACHE_HOME'];
  const base = xdg !== undefined && xdg !== '' ? xdg : join(process.env['HOME'] ?? homedir(), '.cache');
  return join(base, 'flox-k8s', 'e2e');
}

/** True under CI: suites must run, never skip for a missing tool or privilege. */
export function isCI(): boolean {
  return process.env['CI'] === 'true';
}

/** The PATH the harness hands to containerd (binaries it runs: shims, runc). */
export function hostPath(): string {
  return process.env['PATH'] ?? '/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin';
}
