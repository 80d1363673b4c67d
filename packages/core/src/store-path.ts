// Nix store path syntax, checked without touching any store: the one definition every
// package uses (lockfile entries, narinfo fields, the closure a container mounts).
//
// Nix's rule (libstore path.cc `checkName`, `nameRegexStr`, since Nix 2.20): a store path
// is `<storeDir>/<hash>-<name>`; the hash is 32 characters of Nix's base-32 alphabet
// (digits and lowercase letters without e, o, u, t); the name is 1 to 211 characters of
// `[A-Za-z0-9+-._?=]` and is not `.` or `..`, nor starts with `.-` or `..-`. Names that
// merely start with a period are valid: Nix 2.4-2.18 allowed them by accident, 2.19
// rejected them, and 2.20 made them official again (NixOS/nix#9867), so paths built by a
// current Nix may have them. `/` and NUL are not name characters, so no name escapes
// the store directory.
import { FloxK8sError } from './errors.ts';

/** The store directory every Flox lockfile and binary cache here refers to. */
export const STORE_DIR = '/nix/store';

/** Length of the hash part of a store path (160 bits in nix32). */
export const STORE_PATH_HASH_LENGTH = 32;
/** Longest store path name Nix accepts (`StorePath::MaxPathLen`). */
export const STORE_PATH_NAME_MAX_LENGTH = 211;

const HASH = '[0123456789abcdfghijklmnpqrsvwxyz]{32}';
// Nix's nameRegexStr: not `.`/`..` alone or followed by `-`, then the allowed characters.
const NAME = String.raw`(?!\.\.?(?:-|$))[A-Za-z0-9+\-._?=]{1,211}`;
const BASE_PATTERN = new RegExp(`^${HASH}-${NAME}$`);

/** Matches exactly the valid `/nix/store/<hash>-<name>` paths: the rule itself, for schemas. */
export const STORE_PATH_PATTERN: RegExp = new RegExp(`^/nix/store/${HASH}-${NAME}$`);

/** A store path split into its parts. */
export interface StorePath {
  /** The store directory (`/nix/store`). */
  storeDir: string;
  /** The 32-character nix32 hash part. */
  hash: string;
  name: string;
  /** The full path. */
  path: string;
  /** `<hash>-<name>`, the basename. */
  base: string;
}

/** A string is not a valid store path (`FLOXK8S_STORE_PATH_INVALID`). */
export class StorePathInvalidError extends FloxK8sError {
  static override readonly code = 'FLOXK8S_STORE_PATH_INVALID' as const;

  constructor(message: string, options?: { cause?: unknown }) {
    super(StorePathInvalidError.code, message, options);
  }
}

/**
 * True when `path` is a valid top-level store path `<storeDir>/<hash>-<name>`
 * (default store directory `/nix/store`). The predicate form of {@link parseStorePath}.
 */
export function isStorePath(path: string, storeDir: string = STORE_DIR): boolean {
  if (storeDir === STORE_DIR) return STORE_PATH_PATTERN.test(path);
  return path.startsWith(`${storeDir}/`) && BASE_PATTERN.test(path.slice(storeDir.length + 1));
}

/**
 * Splits a valid store path into its parts; throws StorePathInvalidError
 * (`FLOXK8S_STORE_PATH_INVALID`) naming the problem for anything else.
 */
export function parseStorePath(path: string, storeDir: string = STORE_DIR): StorePath {
  const prefix = `${storeDir}/`;
  if (!path.startsWith(prefix)) throw new StorePathInvalidError(`${quote(path)}: expected a path under ${storeDir}/`);
  const base = path.slice(prefix.length);
  if (base.includes('/')) throw new StorePathInvalidError(`${quote(path)}: expected a top-level store path, found a path inside one`);
  return parseStorePathBase(base, storeDir);
}

/** Parses a `<hash>-<name>` basename (a narinfo's References); throws StorePathInvalidError. */
export function parseStorePathBase(base: string, storeDir: string = STORE_DIR): StorePath {
  if (!BASE_PATTERN.test(base)) throw new StorePathInvalidError(`${quote(base)}: ${baseProblem(base)}`);
  const hash = base.slice(0, STORE_PATH_HASH_LENGTH);
  return { storeDir, hash, name: base.slice(STORE_PATH_HASH_LENGTH + 1), path: `${storeDir}/${base}`, base };
}

/**
 * Why `path` is not a valid `/nix/store/<hash>-<name>` path, or undefined when it is: the
 * reason a lockfile or plan error names. Its verdict is always {@link isStorePath}'s.
 */
export function storePathProblem(path: string): string | undefined {
  if (STORE_PATH_PATTERN.test(path)) return undefined;
  const prefix = `${STORE_DIR}/`;
  if (!path.startsWith(prefix)) return `expected /nix/store path, found ${quote(path)}`;
  const base = path.slice(prefix.length);
  if (base.includes('/')) return `expected a top-level /nix/store path (no sub-path), found ${quote(path)}`;
  return `${baseProblem(base)}, found ${quote(path)}`;
}

function baseProblem(base: string): string {
  const hash = base.slice(0, STORE_PATH_HASH_LENGTH);
  if (!new RegExp(`^${HASH}$`).test(hash)) return `expected ${STORE_PATH_HASH_LENGTH} nix32 hash characters (no e, o, u, t) before the name`;
  if (base[STORE_PATH_HASH_LENGTH] !== '-') return 'expected "-" after the store path hash';
  const name = base.slice(STORE_PATH_HASH_LENGTH + 1);
  if (name.length === 0) return 'expected a name after the store path hash';
  if (name.length > STORE_PATH_NAME_MAX_LENGTH) return `store path name is longer than ${STORE_PATH_NAME_MAX_LENGTH} characters`;
  if (/^\.\.?(?:-|$)/.test(name)) return 'store path name must not be "." or "..", nor start with ".-" or "..-"';
  return 'store path name has characters outside [A-Za-z0-9+-._?=]';
}

function quote(value: string): string {
  return JSON.stringify(value.length > 80 ? `${value.slice(0, 80)}…` : value);
}
