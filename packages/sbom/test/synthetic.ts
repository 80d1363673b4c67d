// Made-up path infos for lockfiles whose store paths we have no narinfos for
// (the real Flox lockfiles name cache.nixos.org paths this machine cannot reach).
// Only the lockfile-derived parts of an SBOM are tested with these.
import { createHash } from 'node:crypto';
import type { ClosurePathInfo } from '../src/index.ts';

/** A synthetic path info: NarHash = sha256 of the path text (in hex spelling), NarSize = its length. */
export function syntheticPathInfo(storePath: string, references: readonly string[] = []): ClosurePathInfo {
  return {
    storePath,
    narHash: `sha256:${createHash('sha256').update(storePath).digest('hex')}`,
    narSize: storePath.length,
    references,
  };
}

/** A store path with a made-up but valid hash part. */
export function syntheticStorePath(name: string, seed: string = name): string {
  const alphabet = '0123456789abcdfghijklmnpqrsvwxyz';
  const bytes = createHash('sha256').update(seed).digest();
  let hash = '';
  for (let i = 0; i < 32; i++) hash += alphabet[bytes[i]! % 32];
  return `/nix/store/${hash}-${name}`;
}

/** The error `fn` throws; fails the test when it returns. */
export function catchError(fn: () => unknown): unknown {
  try {
    fn();
  } catch (error) {
    return error;
  }
  throw new Error('expected a throw');
}
