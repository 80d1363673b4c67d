import { fileURLToPath } from 'node:url';

/** Bundle the agent CLI (`src/main.ts`) and its dependencies into one ESM file with esbuild. */
export async function bundleAgent(): Promise<Uint8Array> {
  const esbuild = await import('esbuild');
  const result = await esbuild.build({
    entryPoints: [fileURLToPath(new URL('../main.ts', import.meta.url))],
    bundle: true,
    write: false,
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
  const file = result.outputFiles[0];
  if (!file) throw new Error('esbuild produced no output for the agent bundle');
  return file.contents;
}
