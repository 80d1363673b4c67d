import { fileURLToPath } from 'node:url';
import { bundleNodeProgram } from '@flox-k8s/shim-layout';

/** Bundle the webhook (`src/main.ts`) and its dependencies into one ESM file with esbuild, as the node agent is. */
export function bundleAdmission(): Promise<Uint8Array> {
  return bundleNodeProgram(fileURLToPath(new URL('../main.ts', import.meta.url)));
}
