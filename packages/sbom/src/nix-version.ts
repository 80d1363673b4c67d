// Nix's version order (libstore names.cc `compareVersions`, the rule behind
// `builtins.compareVersions` and `nix-env -u`). Nix versions are not semver
// (`2.40-66-bin`, `1.0pre`, `unstable-2024-01-01`, `3.0.15a`), so a semver library
// would misorder or reject them; this is the order Nix itself uses.
//
// A version is split into components: separators are "." and "-"; a component is
// the longest run of ASCII digits, or the longest run of other non-separator
// characters. Components are compared pairwise, the shorter version padded with
// empty components:
//   - two numbers compare numerically (a number only when it fits a C `int`:
//     Nix parses with string2Int<int>, so 2147483648 and longer runs are words);
//   - an empty component is less than a number (`1.0` < `1.0.1`);
//   - `pre` is less than anything but `pre` (`1.0pre` < `1.0`);
//   - a word is less than a number (`2.3a` < `2.3.1`);
//   - two words compare bytewise (`a` < `b`, `B` < `a`).

const INT_MAX = 2 ** 31 - 1;

function isDigit(c: string | undefined): boolean {
  return c !== undefined && c >= '0' && c <= '9';
}

/** The components of `version` in Nix's split (`1.2pre-3` → `1`, `2`, `pre`, `3`). */
export function versionComponents(version: string): string[] {
  const out: string[] = [];
  let i = 0;
  for (;;) {
    while (version[i] === '.' || version[i] === '-') i++;
    if (i >= version.length) return out;
    const start = i;
    if (isDigit(version[i])) while (isDigit(version[i])) i++;
    else while (i < version.length && !isDigit(version[i]) && version[i] !== '.' && version[i] !== '-') i++;
    out.push(version.slice(start, i));
  }
}

function asInt(component: string): number | undefined {
  if (component === '' || !isDigit(component[0])) return undefined;
  const n = Number(component);
  return n <= INT_MAX ? n : undefined;
}

function componentLess(c1: string, c2: string): boolean {
  const n1 = asInt(c1);
  const n2 = asInt(c2);
  if (n1 !== undefined && n2 !== undefined) return n1 < n2;
  if (c1 === '' && n2 !== undefined) return true;
  if (c1 === 'pre' && c2 !== 'pre') return true;
  if (c2 === 'pre') return false;
  if (n2 !== undefined) return true;
  if (n1 !== undefined) return false;
  return c1 < c2;
}

/**
 * Nix's `builtins.compareVersions`: -1 when `a` is older than `b`, 0 when they are the
 * same version, 1 when `a` is newer.
 */
export function compareVersions(a: string, b: string): -1 | 0 | 1 {
  const ca = versionComponents(a);
  const cb = versionComponents(b);
  for (let i = 0; i < Math.max(ca.length, cb.length); i++) {
    const c1 = ca[i] ?? '';
    const c2 = cb[i] ?? '';
    if (componentLess(c1, c2)) return -1;
    if (componentLess(c2, c1)) return 1;
  }
  return 0;
}
