// Test helpers: the real Flox lockfiles under test/fixtures/lockfiles.
import { readFileSync, readdirSync } from 'node:fs';
import { fileURLToPath } from 'node:url';

export const fixturesDir: string = fileURLToPath(new URL('../test/fixtures/', import.meta.url));

/** File names of every real lockfile fixture. */
export function lockfileFixtureNames(): string[] {
  return readdirSync(`${fixturesDir}lockfiles`)
    .filter((f) => f.endsWith('.lock.json'))
    .sort();
}

/** The exact bytes of one lockfile fixture. */
export function lockfileBytes(name: string): Buffer {
  return readFileSync(`${fixturesDir}lockfiles/${name.endsWith('.json') ? name : `${name}.lock.json`}`);
}

/** One fixture decoded as plain JSON, for building variations of it. */
export function lockfileJson(name: string): Record<string, unknown> {
  return JSON.parse(lockfileBytes(name).toString('utf8')) as Record<string, unknown>;
}

/** A minimal valid lockfile with the given package entries and manifest additions. */
export function minimalLockfile(
  packages: unknown[],
  manifest: Record<string, unknown> = { version: 1 },
): Record<string, unknown> {
  return { 'lockfile-version': 1, manifest: { install: {}, options: {}, ...manifest }, packages };
}

/** A syntactically valid store path with a made-up hash (repeated nix32 character). */
export function fakeStorePath(name: string, hashChar = 'a'): string {
  return `/nix/store/${hashChar.repeat(32)}-${name}`;
}
