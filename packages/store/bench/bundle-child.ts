import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { bundleNodeProgram, installRuntimePackages } from '@flox-k8s/shim-layout';

/**
 * Bundles large-realise-child.ts and the store's fetch worker into `dir` with the options the
 * node agent's and the shim's bundles use, so the benchmark runs what ships: no TypeScript
 * stripping at start-up (~0.3 s of CPU and ~50 MB of resident memory from sources), one file per
 * program, with koffi beside them as the layouts ship it (xz through liblzma). Returns the child's path.
 */
export async function bundleRealiseChild(dir: string): Promise<string> {
  const child = join(dir, 'large-realise-child.mjs');
  writeFileSync(child, await bundleNodeProgram(join(import.meta.dirname, 'large-realise-child.ts')));
  writeFileSync(join(dir, 'fetch-worker.mjs'), await bundleNodeProgram(join(import.meta.dirname, '..', 'src', 'fetch-worker-main.ts')));
  await installRuntimePackages(dir);
  return child;
}
