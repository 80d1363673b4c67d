import { mkdir, writeFile } from 'node:fs/promises';
import { basename, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { ESM_REQUIRE_BANNER, NODE_BUNDLE_OPTIONS, runtimePackageFiles, writeRuntimeFiles, type RuntimeFile } from '@flox-k8s/shim-layout';

/** The agent bundle: the CLI, and the store's NAR fetch worker it starts by URL (same directory). */
export interface AgentBundle {
  /** `agent.mjs`: `src/main.ts` and its dependencies. */
  agent: Uint8Array;
  /** `fetch-worker.mjs`: `src/fetch-worker.ts`, which main.ts hands the store (a bundled store has no worker file of its own). */
  fetchWorker: Uint8Array;
  /** `node_modules/…`: the packages the bundle loads at run time (koffi, for xz and zstd through liblzma and libzstd), beside it. */
  runtime: RuntimeFile[];
}

/** File names of the bundle's files, in one directory. */
export const AGENT_BUNDLE_FILES: Readonly<Record<Exclude<keyof AgentBundle, 'runtime'>, string>> = { agent: 'agent.mjs', fetchWorker: 'fetch-worker.mjs' };

/** Bundle the agent CLI (`src/main.ts`) and its fetch worker, each with its dependencies, into ESM files with esbuild. */
export async function bundleAgent(): Promise<AgentBundle> {
  const esbuild = await import('esbuild');
  const entry = (file: string, name: keyof typeof AGENT_BUNDLE_FILES): { in: string; out: string } => ({
    in: fileURLToPath(new URL(file, import.meta.url)),
    out: AGENT_BUNDLE_FILES[name].replace(/\.mjs$/, ''),
  });
  const result = await esbuild.build({
    entryPoints: [entry('../main.ts', 'agent'), entry('../fetch-worker.ts', 'fetchWorker')],
    outdir: '/',
    outExtension: { '.js': '.mjs' },
    ...NODE_BUNDLE_OPTIONS,
    write: false,
    format: 'esm',
    banner: ESM_REQUIRE_BANNER,
  });
  const output = (name: keyof typeof AGENT_BUNDLE_FILES): Uint8Array => {
    const file = result.outputFiles.find((f) => basename(f.path) === AGENT_BUNDLE_FILES[name]);
    if (!file) throw new Error(`esbuild produced no ${AGENT_BUNDLE_FILES[name]} for the agent bundle`);
    return file.contents;
  };
  return { agent: output('agent'), fetchWorker: output('fetchWorker'), runtime: await runtimePackageFiles() };
}

/** Writes the bundle into `dir` as the image holds it: agent.mjs, fetch-worker.mjs and node_modules/. */
export async function writeAgentBundle(bundle: AgentBundle, dir: string): Promise<void> {
  await mkdir(dir, { recursive: true });
  await writeFile(join(dir, AGENT_BUNDLE_FILES.agent), bundle.agent);
  await writeFile(join(dir, AGENT_BUNDLE_FILES.fetchWorker), bundle.fetchWorker);
  await writeRuntimeFiles(dir, bundle.runtime);
}
