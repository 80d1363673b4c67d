import type { Plugin } from 'esbuild';
import { mkdir, readdir, readFile, rm, stat, writeFile } from 'node:fs/promises';
import { dirname, join, relative, resolve } from 'node:path';
import type { ShimPrograms } from './programs.ts';

/** The interposer's bundle: `lib/<name>.mjs`. */
export const INTERPOSER_BUNDLE = 'runc-interposer';
/** The NAR fetch worker's bundle, beside the interposer's: `lib/<name>.mjs`. */
export const FETCH_WORKER_BUNDLE = 'fetch-worker';

/**
 * esbuild plugin: zod's classic entry re-exports every locale (hundreds of kB that a
 * container start would parse); nothing here uses any but English, so a bundle gets just
 * that one.
 */
export const zodEnglishOnly: Plugin = {
  name: 'zod-english-only',
  setup(build) {
    build.onResolve({ filter: /^\.\.\/locales\/index\.js$/ }, (args) =>
      /[\\/]zod[\\/]v4[\\/](classic|core|mini)[\\/]/.test(args.importer)
        ? { path: resolve(args.resolveDir, '../locales/en.js'), namespace: 'zod-locales' }
        : undefined,
    );
    build.onLoad({ filter: /.*/, namespace: 'zod-locales' }, (args) => ({
      contents: `export { default as en } from ${JSON.stringify(args.path)};`,
      resolveDir: resolve(args.path, '..'),
      loader: 'js',
    }));
  },
};


/**
 * esbuild options every Node bundle of ours shares (the interposer's, the node agent's):
 * Node 22 target, workspace packages from source, readable names in stack traces, and a
 * `require` for bundled CommonJS dependencies (an ESM bundle has none of its own).
 */
export const NODE_BUNDLE_OPTIONS: {
  bundle: true;
  platform: 'node';
  target: string;
  conditions: string[];
  keepNames: true;
  minifySyntax: true;
  legalComments: 'none';
  logLevel: 'silent';
  external: string[];
  define: Record<string, string>;
} = {
  bundle: true,
  platform: 'node',
  target: 'node22',
  conditions: ['@flox-k8s/source'],
  keepNames: true,
  minifySyntax: true,
  legalComments: 'none',
  logLevel: 'silent',
  // @cyclonedx/cyclonedx-library (via @flox-k8s/sbom) requires its optional plugins (XML
  // writers and validators, JSON schema validation) inside try/catch; we only write JSON,
  // so they stay out of the bundle and their require fails quietly, as when not installed.
  // koffi (xz and zstd through liblzma and libzstd, @flox-k8s/nar) finds its native module relative to its own files: it
  // stays a package in a `node_modules` beside the bundle (runtimePackageFiles).
  external: ['xmlbuilder2', 'libxmljs2', 'ajv', 'ajv-formats', 'ajv-formats-draft2019', 'koffi'],
  // CommonJS dependencies that name their own directory at load time (cyclonedx-library's
  // resource paths) get the bundle's: an ESM bundle has no __dirname/__filename.
  define: { __dirname: 'import.meta.dirname', __filename: 'import.meta.filename' },
};

/** A file of a package a bundle loads at run time, at its path relative to the bundle's directory. */
export interface RuntimeFile {
  path: string;
  content: Uint8Array;
  mode: number;
}

/**
 * The packages every Node bundle of ours loads at run time instead of inlining (NODE_BUNDLE_OPTIONS'
 * koffi): koffi and its binary for this platform, under `node_modules/`, from where @flox-k8s/nar
 * resolves them. Without them a bundle still runs, and decodes xz and zstd with the other decoders.
 */
export async function runtimePackageFiles(): Promise<RuntimeFile[]> {
  // Imported here, when a bundle is made: not on the interposer's warm path.
  const { liblzmaRuntimePackages } = await import('@flox-k8s/nar');
  const files: RuntimeFile[] = [];
  for (const { name, dir } of liblzmaRuntimePackages()) {
    for (const entry of (await readdir(dir, { recursive: true, withFileTypes: true })).sort((a, b) => join(a.parentPath, a.name).localeCompare(join(b.parentPath, b.name)))) {
      if (!entry.isFile()) continue;
      const file = join(entry.parentPath, entry.name);
      files.push({ path: join('node_modules', name, relative(dir, file)), content: await readFile(file), mode: (await stat(file)).mode & 0o755 });
    }
  }
  return files;
}

/** Writes runtime files (runtimePackageFiles(), or a bundle's copy of them) into `dir`, beside a bundle. */
export async function writeRuntimeFiles(dir: string, files: readonly RuntimeFile[]): Promise<void> {
  for (const file of files) {
    await mkdir(dirname(join(dir, file.path)), { recursive: true });
    await writeFile(join(dir, file.path), file.content, { mode: file.mode });
  }
}

/** Writes runtimePackageFiles() into `dir` (beside a bundle), replacing an earlier copy. */
export async function installRuntimePackages(dir: string): Promise<void> {
  await rm(join(dir, 'node_modules'), { recursive: true, force: true });
  await writeRuntimeFiles(dir, await runtimePackageFiles());
}

/** Banner giving an ESM bundle a `require` (see NODE_BUNDLE_OPTIONS). */
export const ESM_REQUIRE_BANNER: { js: string } = {
  js: "import { createRequire as __floxCreateRequire } from 'node:module'; const require = __floxCreateRequire(import.meta.url);",
};

/**
 * Bundle one Node program (an ESM entry module) and everything it imports into a single ESM
 * file with the shared options: what the node agent and the admission webhook ship in their
 * images. esbuild is imported only here, when a program is bundled from source.
 */
export async function bundleNodeProgram(entry: string): Promise<Uint8Array> {
  const esbuild = await import('esbuild');
  const result = await esbuild.build({ entryPoints: [entry], ...NODE_BUNDLE_OPTIONS, write: false, format: 'esm', banner: ESM_REQUIRE_BANNER });
  const file = result.outputFiles[0];
  if (!file) throw new Error(`esbuild produced no output for ${entry}`);
  return file.contents;
}

/** Directory under the bundle dir holding the lazily loaded chunks. */
export const CHUNK_DIR = 'chunks';

/**
 * Bundles the interposer with esbuild into `outDir/runc-interposer.mjs` (all
 * dependencies inlined, workspace packages from source). Code only a cold start needs
 * (store, binary-cache client, undici) is split into `outDir/chunks/*.mjs`, loaded by
 * dynamic import, so a warm container start never parses it (the warm path imports the
 * light subpaths: `@flox-k8s/environments/resolve`, `@flox-k8s/lockfile/reference`).
 * esbuild is imported only here, when a layout is bundled from source.
 */
export async function buildBundle(outDir: string, programs: Pick<ShimPrograms, 'interposer' | 'fetchWorker'>): Promise<string[]> {
  const esbuild = await import('esbuild');
  // Chunk names carry content hashes: drop the previous build's, or they pile up (and get installed).
  await rm(resolve(outDir, CHUNK_DIR), { recursive: true, force: true });
  const result = await esbuild.build({
      entryPoints: [
        { in: programs.interposer, out: INTERPOSER_BUNDLE },
        // Its own entry: worker threads start a module by URL, and the store's own worker file
        // is not in the bundle (the bug that made every large cold start fail).
        { in: programs.fetchWorker, out: FETCH_WORKER_BUNDLE },
      ],
      outdir: outDir,
      outExtension: { '.js': '.mjs' },
      chunkNames: `${CHUNK_DIR}/[name]-[hash]`,
      splitting: true,
      metafile: true,
      ...NODE_BUNDLE_OPTIONS,
      format: 'esm',
      plugins: [zodEnglishOnly],
      banner: ESM_REQUIRE_BANNER,
  });
  await installRuntimePackages(outDir);
  return Object.keys(result.metafile.outputs).map((o) => resolve(o)).filter((o) => !o.includes(`/${CHUNK_DIR}/`)).sort();
}
