// How one activation variable combines with what a process already has: the one rule
// behind the static environment (@flox-k8s/lockfile's resolveActivationEnv), a
// container's variables (@flox-k8s/oci-patch's mergeEnvironment) and the shell that
// exports them (@flox-k8s/lockfile's wrapper, @flox-k8s/store's envrc).

/**
 * - `prepend` (PATH-like): the value goes in front of what is already there, joined by
 *   `:`, or stands alone when nothing (or an empty value) is there;
 * - `set`: always the value (FLOX_ENV, …);
 * - `default`: the value only when the variable is unset (`[vars]`, SSL_CERT_FILE, …).
 */
export type EnvMerge = 'prepend' | 'set' | 'default';

/** One variable to merge: its name, its value and how it merges. */
export interface MergedVariable {
  name: string;
  value: string;
  merge: EnvMerge;
}

/**
 * `head` in front of the search path `tail`. A head that already ends in `:` (Flox's
 * MANPATH, `<env>/share/man:`, whose trailing colon keeps man(1)'s default path) carries
 * its own separator: another would make `::`, which man(1) reads as "the default path
 * here", so the result is `<env>/share/man:<old>` as Flox makes it.
 */
export function prependSearchPath(head: string, tail: string): string {
  if (head === '') return tail;
  if (tail === '') return head;
  return head.endsWith(':') ? `${head}${tail}` : `${head}:${tail}`;
}

/** True when `current` already begins with the entries of `head` (so prepending it again would repeat them). */
export function startsWithSearchPath(current: string, head: string): boolean {
  return current === head || current.startsWith(head.endsWith(':') ? head : `${head}:`);
}

/** The variable's value after merging `variable` into `current` (undefined: unset). */
export function mergeVariable(variable: Pick<MergedVariable, 'value' | 'merge'>, current: string | undefined): string {
  switch (variable.merge) {
    case 'set':
      return variable.value;
    case 'default':
      return current ?? variable.value;
    case 'prepend':
      return prependSearchPath(variable.value, current ?? '');
  }
}

/**
 * The same rule as one POSIX shell statement, for scripts that run in the container.
 * `expand`: the value is the environment author's shell text (Flox writes `[vars]` as
 * `export NAME="value"`, so `$OTHER` expands); otherwise it is exported literally.
 */
export function exportStatement(variable: MergedVariable & { expand?: boolean | undefined }): string {
  const { name } = variable;
  const value = variable.expand === true ? `"${variable.value}"` : singleQuote(variable.value);
  switch (variable.merge) {
    case 'set':
      return `export ${name}=${value}`;
    case 'default':
      return `[ -n "\${${name}+x}" ] || export ${name}=${value}`;
    case 'prepend':
      // prependSearchPath in shell: a value ending in ':' (or empty) carries its own separator.
      return variable.value === '' || variable.value.endsWith(':') ? `export ${name}=${value}"\${${name}:-}"` : `export ${name}=${value}"\${${name}:+:\$${name}}"`;
  }
}

/** Single-quotes a value for POSIX sh. */
export function singleQuote(value: string): string {
  return `'${value.replaceAll("'", `'\\''`)}'`;
}
