// The one module of this package that reads the environment.
import { homedir } from 'node:os';
import { join } from 'node:path';

/** `${XDG_CACHE_HOME:-$HOME/.cache}/flox-k8s/nix-fixtures`: where built fixtures are cached by content. */
export function defaultCacheBase(): string {
  const xdg = process.env['XDG_CACHE_HOME'];
  const base = xdg !== undefined && xdg !== '' ? xdg : join(process.env['HOME'] ?? homedir(), '.cache');
  return join(base, 'flox-k8s', 'nix-fixtures');
}

// Proxies would send Nix's loopback HTTP requests elsewhere; the store is root-only here.
const dropped = new Set(['http_proxy', 'https_proxy', 'all_proxy', 'HTTP_PROXY', 'HTTPS_PROXY', 'ALL_PROXY']);

/** The environment for a spawned Nix command: the caller's, minus proxies, plus `extra`. */
export function nixProcessEnv(extra: Record<string, string> = {}): NodeJS.ProcessEnv {
  const env: NodeJS.ProcessEnv = {};
  for (const [name, value] of Object.entries(process.env)) {
    if (!dropped.has(name) && value !== undefined) env[name] = value;
  }
  return { ...env, ...extra };
}

/** True under `CI=true`, where no test may skip for a missing tool. */
export function isCi(): boolean {
  return process.env['CI'] === 'true';
}

/** The directories of `PATH`, for finding a host tool to hand to a Nix builder (which gets no PATH). */
export function pathDirectories(): string[] {
  return (process.env['PATH'] ?? '/usr/bin:/bin').split(':').filter((dir) => dir.startsWith('/'));
}
