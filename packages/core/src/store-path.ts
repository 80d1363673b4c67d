// Nix store path syntax, checked without touching any store.
//
// Nix's rules (libstore `StorePath` / `checkName`): the base name is
// `<hash>-<name>`, where the hash is 32 characters of Nix's base-32 alphabet
// (digits and lowercase letters without e, o, u, t) and the name is at most
// 211 characters from `[A-Za-z0-9+-._?=]` and does not start with a dot.

const NIX32_ALPHABET = '0123456789abcdfghijklmnpqrsvwxyz';
const HASH_LENGTH = 32;
const MAX_NAME_LENGTH = 211;

/** The store directory every Flox lockfile refers to. */
export const STORE_DIR = '/nix/store';

/** Matches exactly the valid `/nix/store/<hash>-<name>` paths (same rules as {@link storePathProblem}). */
export const STORE_PATH_PATTERN: RegExp = /^\/nix\/store\/[0-9a-df-np-sv-z]{32}-(?!\.)[A-Za-z0-9+\-._?=]{1,211}$/;

const NAME_CHAR = /^[A-Za-z0-9+\-._?=]+$/;
const HASH_CHARS = new RegExp(`^[${NIX32_ALPHABET}]{${HASH_LENGTH}}$`);

/** Why `storePath` is not a valid `/nix/store/<hash>-<name>` path, or undefined when it is. */
export function storePathProblem(storePath: string): string | undefined {
  const prefix = `${STORE_DIR}/`;
  if (!storePath.startsWith(prefix)) return `expected /nix/store path, found ${quote(storePath)}`;
  const base = storePath.slice(prefix.length);
  if (base.includes('/')) return `expected a top-level /nix/store path (no sub-path), found ${quote(storePath)}`;
  const hash = base.slice(0, HASH_LENGTH);
  if (!HASH_CHARS.test(hash)) return `expected 32 nix32 hash characters after /nix/store/, found ${quote(storePath)}`;
  if (base[HASH_LENGTH] !== '-') return `expected "-" after the store path hash, found ${quote(storePath)}`;
  const name = base.slice(HASH_LENGTH + 1);
  if (name.length === 0) return `expected a name after the store path hash, found ${quote(storePath)}`;
  if (name.length > MAX_NAME_LENGTH) return `store path name is longer than ${MAX_NAME_LENGTH} characters`;
  if (name.startsWith('.')) return `store path name must not start with ".", found ${quote(storePath)}`;
  if (!NAME_CHAR.test(name)) return `store path name has characters outside [A-Za-z0-9+-._?=], found ${quote(storePath)}`;
  return undefined;
}

/** True when `storePath` is a syntactically valid `/nix/store/<hash>-<name>` path. */
export function isStorePath(storePath: string): boolean {
  return STORE_PATH_PATTERN.test(storePath);
}

/** The `<name>` part of a valid store path (after `<hash>-`). */
export function storePathName(storePath: string): string {
  return storePath.slice(STORE_DIR.length + 1 + HASH_LENGTH + 1);
}

function quote(value: string): string {
  const shown = value.length > 80 ? `${value.slice(0, 80)}…` : value;
  return JSON.stringify(shown);
}
