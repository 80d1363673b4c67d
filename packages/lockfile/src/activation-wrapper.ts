// The hook wrapper: the one shell script a container's argv is routed through when the
// environment has a hook, profile scripts or [vars] that need the shell. Written here
// once; @flox-k8s/store writes the same script into a profile (scripts as files beside
// it), activationScript writes it with the scripts inline.
import { exportStatement, singleQuote } from '@flox-k8s/core';
import type { ActivationPlan } from './activation.ts';

/** Options of {@link activationWrapper}. */
export interface ActivationWrapperOptions {
  /** First line of the script (a comment; `# ` is added). */
  header: string;
  /**
   * Where the hook and profile scripts come from: `inline` (their text, in the wrapper),
   * or `{ assetDir }`, the in-container directory holding `hook-on-activate`,
   * `profile-common` and `profile-bash`.
   */
  scripts: 'inline' | { assetDir: string };
  /**
   * Whether `profile.bash` runs: `always` (the wrapper runs under bash), `never` (a
   * POSIX sh), or `detect` (when `$BASH_VERSION` is set, checked as it runs).
   */
  bash: 'always' | 'never' | 'detect';
}

/**
 * A shell script that finishes the activation and then `exec "$@"`: the variables that
 * need the shell (`expand`), then `hook.on-activate`, then the profile scripts. The
 * variables that need no shell are expected in the process environment already (from
 * {@link ActivationPlan.env}).
 *
 * Mirrors Flox: `[vars]` are written `export NAME="value"` (so `$OTHER` expands); the
 * hook runs with stdout sent to stderr (so it never mixes with the command's output) and
 * without `set -e`; profile scripts run after the hook in the same shell. Each script
 * runs through `command eval` (inline) or `command .` (a file): `command` strips their
 * special-built-in status, so a script that fails or has a syntax error does not end a
 * POSIX shell, as a failed `source` does not end Flox's bash.
 */
export function activationWrapper(plan: ActivationPlan, options: ActivationWrapperOptions): string {
  const { scripts } = options;
  const run = (file: string, text: string): string => (scripts === 'inline' ? `command eval ${singleQuote(text)}` : `command . "${scripts.assetDir}/${file}"`);
  const lines = [`# ${options.header}`, 'set +e'];
  // The value of an `expand` variable is the environment author's shell text, exactly as
  // Flox interpolates it into its envrc; it is as trusted as the hook.
  for (const v of plan.env) if (v.expand === true) lines.push(exportStatement(v));
  if (plan.hook !== undefined) lines.push('# hook.on-activate', `${run('hook-on-activate', plan.hook)} 1>&2`);
  if (plan.profile.common !== undefined) lines.push('# profile.common', run('profile-common', plan.profile.common));
  if (plan.profile.bash !== undefined && options.bash !== 'never') {
    const bash = run('profile-bash', plan.profile.bash);
    lines.push('# profile.bash', options.bash === 'always' ? bash : `if [ -n "\${BASH_VERSION:-}" ]; then ${bash}; fi`);
  }
  lines.push('exec "$@"', '');
  return lines.join('\n');
}
