// The one module of this package that reads the environment.

/** True under `CI=true`, where no test may skip for a missing tool. */
export function isCi(): boolean {
  return process.env['CI'] === 'true';
}

/**
 * The environment for a spawned git: PATH (git finds its helpers through its exec path),
 * no user or system config (so a developer's `~/.gitconfig` cannot change what a test
 * sees), no proxies, a fixed identity and clock zone, plus `extra`.
 */
export function gitProcessEnv(extra: Record<string, string> = {}): NodeJS.ProcessEnv {
  return {
    PATH: process.env['PATH'] ?? '/usr/local/bin:/usr/bin:/bin',
    HOME: '/nonexistent',
    GIT_CONFIG_GLOBAL: '/dev/null',
    GIT_CONFIG_SYSTEM: '/dev/null',
    GIT_CONFIG_NOSYSTEM: '1',
    GIT_AUTHOR_NAME: 'Flox User',
    GIT_AUTHOR_EMAIL: 'floxuser@example.invalid',
    GIT_COMMITTER_NAME: 'Flox User',
    GIT_COMMITTER_EMAIL: 'floxuser@example.invalid',
    TZ: 'UTC',
    LC_ALL: 'C',
    ...extra,
  };
}
