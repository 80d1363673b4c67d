import { fileURLToPath } from 'node:url';
import { ESM_REQUIRE_BANNER, NODE_BUNDLE_OPTIONS } from '@flox-k8s/shim-layout';

/** Bundle the webhook (`src/main.ts`) and its dependencies into one ESM file with esbuild, as the node agent is. */
export async function bundleAdmission(): Promise<Uint8Array> {
  const esbuild = await import('esbuild');
  const result = await esbuild.build({
    entryPoints: [fileURLToPath(new URL('../main.ts', import.meta.url))],
    ...NODE_BUNDLE_OPTIONS,
    write: false,
    format: 'esm',
    banner: ESM_REQUIRE_BANNER,
  });
  const file = result.outputFiles[0];
  if (!file) throw new Error('esbuild produced no output for the admission bundle');
  return file.contents;
}
