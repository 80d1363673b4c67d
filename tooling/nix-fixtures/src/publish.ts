// The step every cached fixture shares after its store paths exist: a signing key and signed
// binary caches of the closure.
import { mkdir } from 'node:fs/promises';
import { join } from 'node:path';
import { copyToFileCache, generateKey, type Compression } from './nix.ts';

/** The name of every fixture's signing key. */
export const KEY_NAME = 'flox-k8s-fixture-1';

export interface PublishedCaches<C extends Compression> {
  publicKey: string;
  /** Relative to the fixture directory. */
  secretKeyFile: string;
  caches: Record<C, string>;
}

/**
 * Generates `keys/` and publishes the closure of `roots` as `caches/<compression>/` in `dir`.
 * `parallel-compression` uses every core: compressing hundreds of MB with xz dominates a cold build.
 */
export async function publishCaches<C extends Compression>(
  dir: string,
  roots: readonly string[],
  compressions: readonly C[],
  timed: <T>(step: string, fn: () => Promise<T>) => Promise<T> = (_step, fn) => fn(),
): Promise<PublishedCaches<C>> {
  await mkdir(join(dir, 'keys'));
  const secretKeyFile = join(dir, 'keys', 'secret.key');
  const publicKey = await generateKey(KEY_NAME, secretKeyFile, join(dir, 'keys', 'public.key'));
  await mkdir(join(dir, 'caches'));
  const caches = {} as Record<C, string>;
  // One compression at a time: parallel `nix copy` runs contend for the store's locks.
  for (const compression of compressions) {
    await timed(`cache-${compression}`, () =>
      copyToFileCache(roots, join(dir, 'caches', compression), compression, secretKeyFile, { 'parallel-compression': 'true' }),
    );
    caches[compression] = `caches/${compression}`;
  }
  return { publicKey, secretKeyFile: 'keys/secret.key', caches };
}
