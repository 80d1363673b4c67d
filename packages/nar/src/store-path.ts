import { StorePathInvalidError } from './errors.ts';

/** A parsed store path: `${storeDir}/${hash}-${name}`. */
export interface StorePath {
  storeDir: string;
  /** The 32-character nix32 hash part. */
  hash: string;
  name: string;
  /** The full path. */
  path: string;
  /** `<hash>-<name>`, the basename. */
  base: string;
}

const hashPattern = /^[0123456789abcdfghijklmnpqrsvwxyz]{32}$/;
// Nix's allowed store-name characters; the name is at most 211 bytes.
const namePattern = /^[A-Za-z0-9+\-._?=]{1,211}$/;

/** Parse a `<hash>-<name>` basename; throws StorePathInvalidError. */
export function parseStorePathBase(base: string, storeDir = '/nix/store'): StorePath {
  const hash = base.slice(0, 32);
  if (!hashPattern.test(hash) || base[32] !== '-') {
    throw new StorePathInvalidError(`${JSON.stringify(base)}: expected <32 nix32 chars>-<name> as in a store path basename`);
  }
  const name = base.slice(33);
  if (!namePattern.test(name) || name === '.' || name === '..') {
    throw new StorePathInvalidError(`${JSON.stringify(base)}: store path name must be 1-211 characters of A-Z a-z 0-9 + - . _ ? = and not "." or ".."`);
  }
  return { storeDir, hash, name, path: `${storeDir}/${base}`, base };
}

/** Parse a full store path like `/nix/store/<hash>-<name>`; throws StorePathInvalidError (FLOXK8S_STORE_PATH_INVALID). */
export function parseStorePath(p: string, storeDir = '/nix/store'): StorePath {
  const prefix = `${storeDir}/`;
  if (!p.startsWith(prefix)) {
    throw new StorePathInvalidError(`${JSON.stringify(p)}: expected a path under ${storeDir}/`);
  }
  const base = p.slice(prefix.length);
  if (base.includes('/')) {
    throw new StorePathInvalidError(`${JSON.stringify(p)}: expected a top-level store path, found a path inside one`);
  }
  return parseStorePathBase(base, storeDir);
}
