import { exportStatement } from '@flox-k8s/core';
import { activationWrapper, type ActivationPlan } from '@flox-k8s/lockfile';

/** Shells Flox has `[profile]` scripts for. */
export type ProfileShell = 'common' | 'bash' | 'zsh' | 'fish' | 'tcsh';

/** The asset files of a profile, relative to its root (a dot-dir: buildEnv never links dotfiles, so no package can collide). */
export const ASSET_DIR = '.flox-k8s';

/** `envrc`: the whole activation environment as POSIX shell, for `source` in an interactive shell. */
export function renderEnvrc(plan: ActivationPlan, header: string): string {
  return [`# ${header}`, ...plan.env.map(exportStatement), ''].join('\n');
}

/**
 * `wrapper`: run as `<shell> wrapper <argv...>`. The container already has the plain
 * variables (the OCI patch sets them); the wrapper is @flox-k8s/lockfile's
 * activationWrapper with the hook and profile scripts as files beside it, and
 * profile.bash run only under bash.
 */
export function renderWrapper(plan: ActivationPlan, assetDir: string, header: string): string {
  return activationWrapper(plan, { header, scripts: { assetDir }, bash: 'detect' });
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
