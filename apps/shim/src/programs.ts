import { fileURLToPath } from 'node:url';
import type { ShimPrograms } from '@flox-k8s/shim-layout';

const here = (path: string): string => fileURLToPath(new URL(path, import.meta.url));

/**
 * The shim's programs, as `@flox-k8s/shim-layout` lays them out: the sh launcher and runc
 * front (templates), the compiled runc front's C source, the interposer's entry points, and the prebuilt bundle of
 * `pnpm --filter @flox-k8s/shim build` when there is one.
 */
export const shimPrograms: ShimPrograms = {
  launcher: here('../sh/containerd-shim-flox-v2.sh'),
  front: here('../sh/runc.sh'),
  frontSource: here('../c/runc-front.c'),
  interposer: here('./interposer/main.ts'),
  fetchWorker: here('./interposer/fetch-worker.ts'),
  prebuilt: here('../bundle'),
};
