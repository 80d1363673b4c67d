import { fileURLToPath } from 'node:url';
import { bundleNodeProgram } from '@flox-k8s/shim-layout';

/** Bundle the agent CLI (`src/main.ts`) and its dependencies into one ESM file with esbuild. */
export function bundleAgent(): Promise<Uint8Array> {
  return bundleNodeProgram(fileURLToPath(new URL('../main.ts', import.meta.url)));
}
