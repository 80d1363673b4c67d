import { fileURLToPath } from 'node:url';
import { ESM_REQUIRE_BANNER, NODE_BUNDLE_OPTIONS } from '@flox-k8s/shim-layout';

/** Bundle the agent CLI (`src/main.ts`) and its dependencies into one ESM file with esbuild. */
export async function bundleAgent(): Promise<Uint8Array> {
  const esbuild = await import('esbuild');
  const result = await esbuild.build({
    entryPoints: [fileURLToPath(new URL('../main.ts', import.meta.url))],
    ...NODE_BUNDLE_OPTIONS,
    write: false,
    format: 'esm',
    banner: ESM_REQUIRE_BANNER,
  });
  const file = result.outputFiles[0];
  if (!file) throw new Error('esbuild produced no output for the agent bundle');
  return file.contents;
}
