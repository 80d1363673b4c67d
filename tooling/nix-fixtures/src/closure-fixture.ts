// What the large and wide fixtures share once their store paths are built: the closure,
// Nix's listing of it, the per-file listing, signed xz and zstd caches, and reading all of
// that back from a finished cache directory.
import { access, readFile, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { longestReferenceChain, writeClosureListing, type ClosureStats } from './closure-listing.ts';
import { closureOf, closurePathInfo } from './nix.ts';
import { publishCaches } from './publish.ts';

/** Step name → milliseconds, with a wrapper that records one step. */
export function stepTimer(): { timingsMs: Record<string, number>; timed: <T>(step: string, fn: () => Promise<T> | T) => Promise<T> } {
  const timingsMs: Record<string, number> = {};
  const timed = async <T>(step: string, fn: () => Promise<T> | T): Promise<T> => {
    const started = performance.now();
    try {
      return await fn();
    } finally {
      timingsMs[step] = Math.round(performance.now() - started);
    }
  };
  return { timingsMs, timed };
}

/** The parts of a closure fixture's manifest that `publishClosure` writes (paths relative to the directory). */
export interface PublishedClosure {
  roots: string[];
  closure: string[];
  narSize: number;
  stats: ClosureStats;
  longestChain: string[];
  listing: { pathInfo: string; sha256: string; tree: string };
  publicKey: string;
  secretKeyFile: string;
  caches: { xz: string; zstd: string };
}

/** Lists the closure of `roots` (Nix's path-info, per-file hashes) and publishes it as signed xz and zstd caches in `dir`. */
export async function publishClosure(dir: string, roots: readonly string[], timed: ReturnType<typeof stepTimer>['timed']): Promise<PublishedClosure> {
  const sortedRoots = [...roots].sort();
  const closure = await closureOf(sortedRoots);
  const pathInfoText = await closurePathInfo(sortedRoots);
  await writeFile(join(dir, 'closure.json'), pathInfoText);
  const infos = JSON.parse(pathInfoText) as Array<{ path: string; narSize: number; references: string[] }>;
  const stats = await timed('listing', () => writeClosureListing(closure, dir));
  const published = await publishCaches(dir, sortedRoots, ['xz', 'zstd'] as const, timed);
  return {
    roots: sortedRoots,
    closure,
    narSize: infos.reduce((sum, info) => sum + info.narSize, 0),
    stats,
    longestChain: longestReferenceChain(infos),
    listing: { pathInfo: 'closure.json', sha256: 'files.sha256', tree: 'tree.txt' },
    ...published,
  };
}

/** `PublishedClosure` as seen from outside: absolute paths, the lockfile read; `undefined` when a cache is gone. */
export async function closureResult(
  root: string,
  manifest: PublishedClosure & { lockfile: string; timingsMs: Record<string, number> },
): Promise<(PublishedClosure & { root: string; lockfile: { path: string; bytes: Uint8Array }; timingsMs: Record<string, number> }) | undefined> {
  const caches = await cachesPresent(root, manifest.caches);
  if (caches === undefined) return undefined;
  const lockfilePath = join(root, manifest.lockfile);
  return {
    root,
    roots: [...manifest.roots],
    closure: [...manifest.closure],
    narSize: manifest.narSize,
    stats: { ...manifest.stats, largestFile: { ...manifest.stats.largestFile } },
    longestChain: [...manifest.longestChain],
    listing: { pathInfo: join(root, manifest.listing.pathInfo), sha256: join(root, manifest.listing.sha256), tree: join(root, manifest.listing.tree) },
    publicKey: manifest.publicKey,
    secretKeyFile: join(root, manifest.secretKeyFile),
    caches,
    lockfile: { path: lockfilePath, bytes: new Uint8Array(await readFile(lockfilePath)) },
    timingsMs: { ...manifest.timingsMs },
  };
}

/** The cache directories of a fixture as absolute paths, or `undefined` when one of them is gone. */
export async function cachesPresent<C extends string>(root: string, caches: Record<C, string>): Promise<Record<C, string> | undefined> {
  const absolute = {} as Record<C, string>;
  for (const [compression, dir] of Object.entries(caches) as Array<[C, string]>) {
    absolute[compression] = join(root, dir);
    if (!(await access(join(root, dir, 'nix-cache-info')).then(() => true, () => false))) return undefined;
  }
  return absolute;
}
