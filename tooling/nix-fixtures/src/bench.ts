import { createHash, randomUUID } from 'node:crypto';
import { readdir, readFile, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { BENCH_BUILDER, BENCH_EXPRESSION, BENCH_VERSION } from './bench-expression.ts';
import { cachesPresent } from './closure-fixture.ts';
import { cachedFixture, numberedRoots } from './cached-fixture.ts';
import { benchManifestSchema, writeManifest, type BenchManifest } from './manifest.ts';
import { closureOf, instantiate, realise } from './nix.ts';
import { publishCaches } from './publish.ts';

/** A large real closure for benchmarks, published as signed xz and zstd binary caches. */
export interface NixBenchFixtures {
  /** Cache directory holding everything below. */
  root: string;
  /** Top-level store paths; their closure is `closure`. */
  roots: string[];
  /** Sorted closure: `paths` store paths in a binary tree of references. */
  closure: string[];
  /** Sum of the NAR sizes of the closure (≥ `totalBytes`). */
  narSize: number;
  publicKey: string;
  secretKeyFile: string;
  caches: { xz: string; zstd: string };
}

export interface NixBenchFixturesOptions {
  /** Number of store paths (default 60). */
  paths?: number;
  /** Minimum total payload in bytes (default 250 MB). */
  totalBytes?: number;
  /** Where cache directories live; default `${XDG_CACHE_HOME:-$HOME/.cache}/flox-k8s/nix-fixtures`. */
  cacheDir?: string;
}

/**
 * Builds (once, cached by content like `nixFixtures()`) a closure of `paths`
 * store paths holding at least `totalBytes`: a mix of incompressible and text
 * data so xz and zstd do real work. The first build of the default size takes
 * about a minute (mostly xz).
 */
export async function nixBenchFixtures(options: NixBenchFixturesOptions = {}): Promise<NixBenchFixtures> {
  const paths = Math.max(1, Math.floor(options.paths ?? 60));
  const totalBytes = Math.max(0, Math.floor(options.totalBytes ?? 250_000_000));
  const bytesPerPath = Math.ceil(totalBytes / paths);
  const node = process.execPath;
  const key = createHash('sha256')
    .update(`nix-bench-fixtures\0${BENCH_VERSION}\0${BENCH_EXPRESSION}\0${BENCH_BUILDER}\0${node}\0${paths}\0${bytesPerPath}`)
    .digest('hex')
    .slice(0, 32);

  return cachedFixture({
    kind: 'bench',
    key,
    ...(options.cacheDir !== undefined ? { cacheDir: options.cacheDir } : {}),
    schema: benchManifestSchema,
    result: resultFrom,
    gcRoots: (manifest) => numberedRoots(manifest.roots),
    build: async (dir) => {
      await writeFile(join(dir, 'bench.nix'), BENCH_EXPRESSION);
      await writeFile(join(dir, 'bench-builder.mjs'), BENCH_BUILDER);
      const args = { node: JSON.stringify(node), count: String(paths), bytesPerPath: String(bytesPerPath) };
      const roots = await realise(await instantiate(join(dir, 'bench.nix'), ['root'], args));
      const closure = await closureOf(roots);
      const published = await publishCaches(dir, roots, ['xz', 'zstd'] as const);
      const manifest: BenchManifest = {
        kind: 'nix-bench-fixtures',
        key,
        builtAt: new Date().toISOString(),
        buildId: randomUUID(),
        paths,
        totalBytes,
        narSize: await totalNarSize(join(dir, 'caches', 'xz')),
        roots,
        closure,
        ...published,
      };
      await writeManifest(dir, manifest);
    },
  });
}

async function resultFrom(root: string, manifest: BenchManifest): Promise<NixBenchFixtures | undefined> {
  const caches = await cachesPresent(root, manifest.caches);
  if (caches === undefined) return undefined;
  return {
    root,
    roots: [...manifest.roots],
    closure: [...manifest.closure],
    narSize: manifest.narSize,
    publicKey: manifest.publicKey,
    secretKeyFile: join(root, manifest.secretKeyFile),
    caches,
  };
}

async function totalNarSize(cacheDir: string): Promise<number> {
  let total = 0;
  for (const name of await readdir(cacheDir)) {
    if (!name.endsWith('.narinfo')) continue;
    const size = /^NarSize: (\d+)$/m.exec(await readFile(join(cacheDir, name), 'utf8'))?.[1];
    total += Number(size ?? 0);
  }
  return total;
}
