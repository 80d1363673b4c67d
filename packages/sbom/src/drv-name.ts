// Nix's own split of a store path name into a package name and a version
// (libexpr `DrvName`, the rule behind `builtins.parseDrvName` and nix-env):
// the name is everything before the first "-" that is NOT followed by a
// letter; the version is everything after that dash. So `apache-httpd-2.0.48`
// is (apache-httpd, 2.0.48), `bash--1-2` is (bash, -1-2), `xvidtune-?1-2` is
// (xvidtune, ?1-2), and a name without such a dash has an empty version.

/** A store path name split as Nix splits derivation names. */
export interface DrvName {
  name: string;
  /** Empty when the name has no version part. */
  version: string;
}

// Nix calls C `isalpha` in the "C" locale: ASCII letters only.
const LETTER = /^[A-Za-z]$/;

/** Split `s` (a store path name such as `hello-2.12.3` or `python3.13-numpy-2.1.3-dist`) into name and version. */
export function parseDrvName(s: string): DrvName {
  for (let i = 0; i + 1 < s.length; i++) {
    if (s[i] === '-' && !LETTER.test(s[i + 1]!)) return { name: s.slice(0, i), version: s.slice(i + 1) };
  }
  return { name: s, version: '' };
}
