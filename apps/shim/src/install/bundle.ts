import { fileURLToPath } from 'node:url';

/** Entry points bundled into single ESM files: `lib/<name>.mjs`. */
export const BUNDLE_ENTRIES: Readonly<Record<string, string>> = {
  'runc-interposer': fileURLToPath(new URL('../interposer/main.ts', import.meta.url)),
};

/**
 * Bundles every entry point with esbuild into `outDir/<name>.mjs` (one file each,
 * all dependencies inlined, workspace packages from source). esbuild is a build-time
 * dependency, so it is imported only here.
 */
export async function buildBundle(outDir: string): Promise<string[]> {
  const esbuild = await import('esbuild');
  const outputs: string[] = [];
  for (const [name, entry] of Object.entries(BUNDLE_ENTRIES)) {
    const outfile = `${outDir}/${name}.mjs`;
    await esbuild.build({
      entryPoints: [entry],
      outfile,
      bundle: true,
      platform: 'node',
      format: 'esm',
      target: 'node22',
      conditions: ['@flox-k8s/source'],
      keepNames: true,
      minifySyntax: true,
      legalComments: 'none',
      logLevel: 'silent',
      // Bundled CommonJS dependencies may call require(); give them one.
      banner: { js: "import { createRequire as __floxCreateRequire } from 'node:module'; const require = __floxCreateRequire(import.meta.url);" },
    });
    outputs.push(outfile);
  }
  return outputs;
}
