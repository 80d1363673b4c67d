// How every fixture is cached: a directory named after the hash of its inputs, holding a
// validated manifest.json; usable while its closure is still in /nix/store; GC roots added
// once it has its final name.
import { mkdir } from 'node:fs/promises';
import { join } from 'node:path';
import type { z } from 'zod';
import { contentCached } from './content-cache.ts';
import { defaultCacheBase } from './env.ts';
import { readManifest } from './manifest.ts';
import { addGcRoot, allPresent } from './nix.ts';

export interface CachedFixtureSpec<S extends z.ZodType<{ key: string; closure: string[] }>, T> {
  /** `fixtures`, `bench`, `large`, `wide`: the directory is `<kind>-<key>`. */
  kind: string;
  key: string;
  cacheDir?: string;
  schema: S;
  /** Fills the temporary directory and writes its manifest.json. */
  build(dir: string): Promise<void>;
  /** The result as seen from the final directory; `undefined` when something in it is gone. */
  result(dir: string, manifest: z.infer<S>): Promise<T | undefined>;
  /** GC root name → store path, registered under `gcroots/` so `nix-collect-garbage` keeps the closure. */
  gcRoots(manifest: z.infer<S>): Record<string, string>;
}

/** Returns the fixture for `key`, building it (once, across processes) when missing or garbage-collected. */
export function cachedFixture<S extends z.ZodType<{ key: string; closure: string[] }>, T>(spec: CachedFixtureSpec<S, T>): Promise<T> {
  return contentCached<T>({
    base: spec.cacheDir ?? defaultCacheBase(),
    key: `${spec.kind}-${spec.key}`,
    load: async (dir) => {
      const manifest = await readManifest(dir, spec.schema);
      if (manifest === undefined || manifest.key !== spec.key || !(await allPresent(manifest.closure))) return undefined;
      return spec.result(dir, manifest);
    },
    build: (dir) => spec.build(dir),
    afterRename: async (dir) => {
      const manifest = await readManifest(dir, spec.schema);
      if (manifest === undefined) return;
      await mkdir(join(dir, 'gcroots'), { recursive: true });
      for (const [name, storePath] of Object.entries(spec.gcRoots(manifest))) await addGcRoot(storePath, join(dir, 'gcroots', name));
    },
  });
}

/** `root-0`, `root-1`, … for a list of roots. */
export function numberedRoots(roots: readonly string[]): Record<string, string> {
  return Object.fromEntries(roots.map((root, i) => [`root-${i}`, root]));
}
