import { spawnSync } from 'node:child_process';
import { isCi } from './env.ts';

/**
 * Why a suite needing the git CLI and `git http-backend` cannot run here, or `undefined`
 * when it can. Under `CI=true` it is always `undefined`: `.ci/run` installs git, so a
 * missing tool must fail, not skip.
 */
export function gitSkipReason(): string | undefined {
  if (isCi()) return undefined;
  if (spawnSync('git', ['--version']).status !== 0) return 'git not found (apt-get install git)';
  return undefined;
}
