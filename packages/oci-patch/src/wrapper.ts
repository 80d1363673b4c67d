import { OciSpecInvalidError } from './errors.ts';
import type { PatchPlan } from './plan.ts';

/**
 * `[shell, script, ...args]`, or `args` unchanged when there is no wrapper or it is
 * already in place. The script sources the hook and ends in `exec "$@"`, so the
 * workload replaces the shell: it keeps the PID (1 in a container) and its signals.
 */
export function wrapArgs(args: readonly string[] | undefined, wrapper: PatchPlan['wrapper'], where: string): string[] | undefined {
  if (wrapper === undefined) return args === undefined ? undefined : [...args];
  if (args === undefined || args.length === 0) {
    throw new OciSpecInvalidError(where, 'expected at least one argument: there is no command for the activation hook to exec');
  }
  if (args[0] === wrapper.shell && args[1] === wrapper.script) return [...args];
  return [wrapper.shell, wrapper.script, ...args];
}
