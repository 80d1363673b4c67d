import { runcEnv } from '../env.ts';

/**
 * Replaces this process with the real runc, same argv/stdio/fds, so containerd sees
 * runc's own exit status and output. Never returns.
 */
export function execRealRunc(runc: string, argv: readonly string[]): never {
  const env = runcEnv();
  if (typeof process.execve === 'function') {
    process.execve(runc, [runc, ...argv], env);
  }
  // Node without execve: run it as a child with our stdio and mirror its status.
  // (Looked up only here: loading child_process costs every container start a few ms.)
  const { spawnSync } = process.getBuiltinModule('node:child_process');
  const result = spawnSync(runc, argv, { stdio: 'inherit', env });
  if (result.error !== undefined) throw result.error;
  process.exit(result.status ?? 128 + (result.signal === null ? 0 : 9));
}
