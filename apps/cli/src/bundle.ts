import { chmod, rename, rm } from 'node:fs/promises';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { ESM_REQUIRE_BANNER, NODE_BUNDLE_OPTIONS, zodEnglishOnly } from '@flox-k8s/shim-layout';

// @cyclonedx/cyclonedx-library's optional plugins (XML output, schema validation), each
// loaded in a try/require: the SBOM command writes JSON and validates nothing at run time.
const OPTIONAL_PLUGINS = ['xmlbuilder2', 'libxmljs2', 'ajv', 'ajv-formats', 'ajv-formats-draft2019'];

/** The package's bundle directory; `flox-k8s.mjs` in it is the `flox-k8s` bin. */
export const CLI_BUNDLE_DIR: string = fileURLToPath(new URL('../bundle', import.meta.url));
/** The entry file's name in a bundle directory. */
export const CLI_BUNDLE_ENTRY = 'flox-k8s.mjs';

/**
 * Bundles the CLI (`src/main.ts`) and its dependencies with esbuild into `outDir`:
 * `flox-k8s.mjs` (executable) plus `chunks/`, which only the commands that need them load
 * (the binary-cache client, the store, the SBOM writer), so `--help` or `resolve` starts
 * without parsing them. The directory is replaced whole. Returns the entry's path.
 */
export async function bundleCli(outDir: string = CLI_BUNDLE_DIR): Promise<string> {
  const esbuild = await import('esbuild');
  const staging = `${outDir}.tmp-${process.pid}`;
  await rm(staging, { recursive: true, force: true });
  await esbuild.build({
    entryPoints: [{ in: fileURLToPath(new URL('./main.ts', import.meta.url)), out: CLI_BUNDLE_ENTRY.replace(/\.mjs$/, '') }],
    ...NODE_BUNDLE_OPTIONS,
    // Only the layout writer loads esbuild (to bundle the interposer); the CLI never does.
    external: ['esbuild', ...OPTIONAL_PLUGINS],
    outdir: staging,
    outExtension: { '.js': '.mjs' },
    splitting: true,
    chunkNames: 'chunks/[name]-[hash]',
    format: 'esm',
    plugins: [zodEnglishOnly],
    // The hashbang of src/main.ts stays first (esbuild keeps an entry point's). Bundled
    // CommonJS (@cyclonedx/cyclonedx-library) also reads __dirname, which ESM lacks.
    banner: { js: `${ESM_REQUIRE_BANNER.js} const __dirname = import.meta.dirname;` },
  });
  await chmod(join(staging, CLI_BUNDLE_ENTRY), 0o755);
  await rm(outDir, { recursive: true, force: true });
  await rename(staging, outDir);
  return join(outDir, CLI_BUNDLE_ENTRY);
}
