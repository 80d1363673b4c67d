import type { ActivationPlan, ActivationVariable } from '@flox-k8s/lockfile';

/** Shells Flox has `[profile]` scripts for. */
export type ProfileShell = 'common' | 'bash' | 'zsh' | 'fish' | 'tcsh';

/** The asset files of a profile, relative to its root (a dot-dir: buildEnv never links dotfiles, so no package can collide). */
export const ASSET_DIR = '.flox-k8s';

function singleQuote(value: string): string {
  return `'${value.replaceAll("'", `'\\''`)}'`;
}

function exportLine(v: ActivationVariable): string {
  // Flox writes [vars] as `export NAME="value"` so the shell expands them; keep that for expanding values.
  const value = v.expand ? `"${v.value}"` : singleQuote(v.value);
  switch (v.merge) {
    case 'prepend':
      // A value ending in ':' (Flox's MANPATH) carries its own separator: no '::' (man's "default path here").
      return v.value.endsWith(':')
        ? `export ${v.name}=${value}"\${${v.name}:-}"`
        : `export ${v.name}=${value}"\${${v.name}:+:\$${v.name}}"`;
    case 'set':
      return `export ${v.name}=${value}`;
    case 'default':
      return `[ -n "\${${v.name}+x}" ] || export ${v.name}=${value}`;
  }
}

/** `envrc`: the whole activation environment as POSIX shell, for `source` in an interactive shell. */
export function renderEnvrc(plan: ActivationPlan, header: string): string {
  return [`# ${header}`, ...plan.env.map(exportLine), ''].join('\n');
}

/**
 * `wrapper`: run as `<shell> wrapper <argv...>`. The container already has the
 * plain variables (the OCI patch sets them); the wrapper adds the `[vars]`
 * that need shell expansion, sources the hook and profile scripts in Flox's
 * order (hook, then profile.common, then profile.bash under bash), then execs
 * the original command. As in Flox (and `@flox-k8s/lockfile`'s activationScript),
 * the hook's stdout goes to stderr, so it never mixes with the command's output,
 * and a script that fails or has a syntax error does not stop the command:
 * `command .` takes away `.`'s special-built-in power to end a POSIX shell.
 */
export function renderWrapper(plan: ActivationPlan, assetDir: string, header: string): string {
  const lines = [`# ${header}`];
  for (const v of plan.env) if (v.expand) lines.push(exportLine(v));
  if (plan.hook !== undefined) lines.push(`command . "${assetDir}/hook-on-activate" 1>&2`);
  if (plan.profile.common !== undefined) lines.push(`command . "${assetDir}/profile-common"`);
  if (plan.profile.bash !== undefined) lines.push(`if [ -n "\${BASH_VERSION:-}" ]; then command . "${assetDir}/profile-bash"; fi`);
  lines.push('exec "$@"', '');
  return lines.join('\n');
}

/** Asset file name → content, all relative to `ASSET_DIR`. */
export function activationAssets(plan: ActivationPlan, assetDirInContainer: string, header: string): Map<string, string> {
  const files = new Map<string, string>();
  files.set('envrc', renderEnvrc(plan, header));
  if (plan.hook !== undefined) files.set('hook-on-activate', `${plan.hook.endsWith('\n') ? plan.hook : `${plan.hook}\n`}`);
  for (const shell of ['common', 'bash', 'zsh', 'fish', 'tcsh'] as const) {
    const text = plan.profile[shell];
    if (text !== undefined) files.set(`profile-${shell}`, text.endsWith('\n') ? text : `${text}\n`);
  }
  if (plan.needsWrapper) files.set('wrapper', renderWrapper(plan, assetDirInContainer, header));
  files.set('activation.json', `${JSON.stringify(plan, null, 2)}\n`);
  return files;
}
