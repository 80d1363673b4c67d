// The environment a Flox activation produces, computed from the lockfile
// alone so it can be applied to a container without running Flox.
// Each rule below names the Flox behaviour it mirrors.
import { isStorePath, parseStorePath, type EnvMerge } from '@flox-k8s/core';
import { ActivationOptionsInvalidError, SystemNotInLockfileError } from './errors.ts';
import { lockfileSystems } from './install.ts';
import { outdent } from './outdent.ts';
import type { Lockfile, ManifestProfile, NixSystem } from './types.ts';

/**
 * One variable of the activation environment. `merge` says how it combines with what
 * the container already has (`@flox-k8s/core`'s `mergeVariable`, the one rule):
 * - `prepend`: PATH-like; `value` goes in front, joined with `:` (or alone when the
 *   container has none). A value that already ends in `:` (MANPATH) is joined without
 *   another one, giving Flox's `<env>/share/man:<old>`; `::` would mean "default path
 *   here" to man(1).
 * - `set`: always overrides (FLOX_ENV, …).
 * - `default`: only when the container does not set it (`[vars]`, SSL_CERT_FILE, …).
 */
export interface ActivationVariable {
  name: string;
  value: string;
  merge: EnvMerge;
  /**
   * Present (true) on `[vars]` whose value holds shell syntax (`$OTHER`, `$(…)`,
   * backquotes, backslashes). Flox writes `[vars]` as `export NAME="value"`, so
   * the shell expands them at activation; these must be exported by the
   * wrapper shell, not put verbatim into the container's environment. Such a
   * variable that refers to itself (`PATH-like = "…:$NAME"`) has merge `set`:
   * Flox extends the inherited value, so "only when unset" would lose it.
   */
  expand?: true;
}

/** Everything needed to activate an environment in a container. */
export interface ActivationPlan {
  /** Variables in the order Flox sets them. */
  env: ActivationVariable[];
  /** `hook.on-activate`, outdented as Flox does; undefined when absent or blank. */
  hook: string | undefined;
  /** `[profile]` scripts, outdented; only non-blank ones are present. */
  profile: ManifestProfile;
  /**
   * True when a shell must run before the command: there is a hook, a `common`
   * or `bash` profile script, or a `[vars]` value that needs shell expansion.
   */
  needsWrapper: boolean;
}

/** Options of {@link activationPlan}. */
export interface ActivationOptions {
  system: NixSystem;
  /** `run` (Flox's default for containers) or `dev` (adds compiler/pkg-config paths). */
  mode: 'run' | 'dev';
  /** The environment's merged profile as the container sees it (`$FLOX_ENV`). */
  envDir: string;
  /** `$FLOX_ENV_CACHE`: a writable per-environment cache directory. */
  cacheDir?: string;
  /** `$FLOX_ENV_PROJECT`: the project directory. */
  projectDir?: string;
  /** The realised closure (store paths); enables SSL_CERT_FILE and LOCALE_ARCHIVE. */
  closure?: readonly string[];
}

/**
 * The activation environment Flox would set up for `lock` on `system`.
 * Throws `FLOXK8S_SYSTEM_NOT_IN_LOCKFILE` or `FLOXK8S_ACTIVATION_OPTIONS_INVALID`.
 */
export function activationPlan(lock: Lockfile, options: ActivationOptions): ActivationPlan {
  const { system, mode, envDir } = options;
  if (mode !== 'run' && mode !== 'dev') throw new ActivationOptionsInvalidError(`mode must be "run" or "dev", found ${JSON.stringify(mode)}`);
  for (const [key, dir] of [['envDir', envDir], ['cacheDir', options.cacheDir], ['projectDir', options.projectDir]] as const) {
    if (dir === undefined && key !== 'envDir') continue;
    if (typeof dir !== 'string' || !dir.startsWith('/') || dir.includes(':') || dir.includes('\0')) {
      throw new ActivationOptionsInvalidError(`${key} must be an absolute path without ":", found ${JSON.stringify(dir)}`);
    }
  }
  const systems = lockfileSystems(lock);
  if (!systems.includes(system)) throw new SystemNotInLockfileError(system, systems);

  const env: ActivationVariable[] = [];
  const add = (name: string, value: string, merge: ActivationVariable['merge']): void => {
    env.push({ name, value, merge });
  };
  const root = envDir.replace(/\/+$/, '') || '/';

  // set-run-variables.bash: PATH gains `<env>/bin:<env>/sbin` in front.
  add('PATH', `${root}/bin:${root}/sbin`, 'prepend');
  // set-run-variables.bash: MANPATH gets `<env>/share/man:` with a trailing
  // colon so man(1) still searches its default path after the environment's.
  add('MANPATH', `${root}/share/man:`, 'prepend');
  // activate: FLOX_ENV names the environment for scripts and hooks; the CLI
  // sets FLOX_ENV_CACHE and FLOX_ENV_PROJECT for the hook and [vars] to use.
  add('FLOX_ENV', root, 'set');
  if (options.cacheDir !== undefined) add('FLOX_ENV_CACHE', options.cacheDir, 'set');
  if (options.projectDir !== undefined) add('FLOX_ENV_PROJECT', options.projectDir, 'set');
  // flox-activations setup_env (was profile.d/0100_common-paths.sh), run mode:
  add('INFOPATH', `${root}/share/info`, 'prepend');
  add('XDG_DATA_DIRS', `${root}/share`, 'prepend');
  if (mode === 'dev') {
    // setup_env, dev mode (was 0101_common-dev-mode-additional-paths.sh).
    add('CPATH', `${root}/include`, 'prepend');
    add('LIBRARY_PATH', `${root}/lib`, 'prepend');
    add('PKG_CONFIG_PATH', `${root}/lib/pkgconfig:${root}/share/pkgconfig`, 'prepend');
    add('ACLOCAL_PATH', `${root}/share/aclocal`, 'prepend');
  }
  // flox-buildenv's default envrc: `SSL_CERT_FILE=${SSL_CERT_FILE:-<cacert>/…}`
  // and NIX_SSL_CERT_FILE likewise, LOCALE_ARCHIVE on Linux. Flox points at its
  // own cacert/glibcLocales; we can only point at what the closure holds.
  const cacert = pick(options.closure, /^(?:nss-)?cacert-[0-9][0-9.]*$/);
  if (cacert !== undefined) {
    add('SSL_CERT_FILE', `${cacert}/etc/ssl/certs/ca-bundle.crt`, 'default');
    add('NIX_SSL_CERT_FILE', `${cacert}/etc/ssl/certs/ca-bundle.crt`, 'default');
  }
  const locales = system.endsWith('-linux') ? pick(options.closure, /^glibc-locales-[0-9][0-9A-Za-z.+_-]*$/) : undefined;
  if (locales !== undefined) add('LOCALE_ARCHIVE', `${locales}/lib/locale/locale-archive`, 'default');

  // buildenv.nix appends `export NAME="value"` for each [vars] entry in
  // attribute-name order (Nix's attrNames sorts by code unit).
  let expands = false;
  for (const name of Object.keys(lock.manifest.vars).sort(byCodeUnit)) {
    const value = lock.manifest.vars[name] ?? '';
    const variable: ActivationVariable = { name, value, merge: 'default' };
    if (/[$`\\]/.test(value)) {
      variable.expand = true;
      expands = true;
      // `PYTHONPATH = "$FLOX_ENV_PROJECT/backend:$PYTHONPATH"` extends the
      // container's own value in Flox; "only when unset" would lose that.
      if (referencesItself(name, value)) variable.merge = 'set';
    }
    env.push(variable);
  }

  const hook = script(lock.manifest.hook.onActivate);
  const profile: ManifestProfile = {};
  for (const shell of ['common', 'bash', 'zsh', 'fish', 'tcsh'] as const) {
    const text = script(lock.manifest.profile[shell]);
    if (text !== undefined) profile[shell] = text;
  }
  // Our wrapper is a POSIX/bash shell: the hook, profile.common and
  // profile.bash are what Flox runs for a bash user; zsh/fish/tcsh scripts
  // never run in it, so they alone do not need a wrapper.
  const needsWrapper = hook !== undefined || profile.common !== undefined || profile.bash !== undefined || expands;
  return { env, hook, profile, needsWrapper };
}

function script(text: string | undefined): string | undefined {
  if (text === undefined || text.trim() === '') return undefined;
  return outdent(text);
}

// The highest-sorting match, so the choice is deterministic when a closure
// holds several versions.
function pick(closure: readonly string[] | undefined, name: RegExp): string | undefined {
  let best: string | undefined;
  let bestName = '';
  for (const path of closure ?? []) {
    if (!isStorePath(path)) continue;
    const candidate = parseStorePath(path).name;
    if (!name.test(candidate)) continue;
    if (best === undefined || candidate > bestName) [best, bestName] = [path, candidate];
  }
  return best;
}

function referencesItself(name: string, value: string): boolean {
  return new RegExp(`\\$\\{?${name}(?![A-Za-z0-9_])`).test(value);
}

function byCodeUnit(a: string, b: string): number {
  return a < b ? -1 : a > b ? 1 : 0;
}
