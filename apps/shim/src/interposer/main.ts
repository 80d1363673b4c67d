// ESM entry point of the runc interposer for `create` and `exec` (the sh front sends
// every other subcommand straight to runc). This runs on every container start, so
// only argv parsing and a cheap look at the spec are loaded eagerly; the patching
// machinery is imported (and evaluated) only for containers that name an environment.
import module from 'node:module';
import { extname } from 'node:path';
import { readEnv } from '../env.ts';
import { runInterposer } from './run.ts';

// Milliseconds from process start until this bundle was loaded (Node start-up + parse).
const loadedAt = performance.now();
// The sh front sets NODE_COMPILE_CACHE, which covers this file too; enabling it here
// as well keeps the lazily imported chunks cached when the bundle is run directly.
module.enableCompileCache?.(readEnv().compileCache);

// Beside this module both in the bundle (lib/fetch-worker.mjs) and in the sources: the
// store, bundled into a chunk elsewhere, cannot find a worker module of its own.
const fetchWorker = new URL(`./fetch-worker${extname(new URL(import.meta.url).pathname)}`, import.meta.url);

// zod-jitless first: it must configure zod before the patching code builds its schemas.
await runInterposer(
  process.argv.slice(2),
  {
    create: () => import('./zod-jitless.ts').then(() => import('@flox-k8s/interposer/create')),
    exec: () => import('./zod-jitless.ts').then(() => import('@flox-k8s/interposer/exec')),
  },
  { loadedAt, entry: 'module' },
  fetchWorker,
);
