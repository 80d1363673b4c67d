// `pnpm --filter @flox-k8s/shim run install-layout -- --prefix DIR [--node PATH]
//   [--runc PATH] [--shim-runc-v2 PATH] [--config FILE] [--compile-cache DIR] [--prebuilt]
//   [--patch-service-dir DIR] [--stage DIR]`
// Bundles the interposer from source with esbuild, unless --prebuilt copies `bundle/`
// (made by `pnpm --filter @flox-k8s/shim build`). --patch-service-dir: the node
// agent's patch service directory (config patchServiceDir; '' = no hand-off).
// --stage DIR: lay out for --prefix on another machine (the node agent's image), writing
// the files to DIR here.
import { parseArgs } from 'node:util';
import { z } from 'zod';
import { errorCode, formatIssues } from '@flox-k8s/core';
import { DEFAULT_COMPILE_CACHE, installLayout, stageLayout } from '@flox-k8s/shim-layout';
import { UsageError } from '../src/errors.ts';
import { shimPrograms } from '../src/programs.ts';

const absolute = z.string().refine((p) => p.startsWith('/'), 'expected an absolute path');
const flagsSchema = z.strictObject({
  prefix: absolute,
  node: absolute.optional(),
  runc: absolute.optional(),
  'shim-runc-v2': absolute.optional(),
  config: absolute.optional(),
  'compile-cache': absolute.optional(),
  prebuilt: z.boolean().optional(),
  'patch-service-dir': z.union([absolute, z.literal('')]).optional(),
  stage: absolute.optional(),
});

try {
  const { values } = parseArgs({
    args: process.argv.slice(2).filter((a) => a !== '--'),
    options: {
      prefix: { type: 'string' },
      node: { type: 'string' },
      runc: { type: 'string' },
      'shim-runc-v2': { type: 'string' },
      config: { type: 'string' },
      'compile-cache': { type: 'string' },
      prebuilt: { type: 'boolean' },
      'patch-service-dir': { type: 'string' },
      stage: { type: 'string' },
    },
    strict: true,
  });
  const parsed = flagsSchema.safeParse(values);
  if (!parsed.success) throw new UsageError(`install-layout: ${formatIssues(parsed.error)}`);
  const f = parsed.data;
  const options = {
    programs: shimPrograms,
    prefix: f.prefix,
    ...(f.node === undefined ? {} : { node: f.node }),
    ...(f.runc === undefined ? {} : { runc: f.runc }),
    ...(f['shim-runc-v2'] === undefined ? {} : { shimRuncV2: f['shim-runc-v2'] }),
    ...(f.config === undefined ? {} : { config: f.config }),
    compileCache: f['compile-cache'] ?? DEFAULT_COMPILE_CACHE,
    fromSource: f.prebuilt !== true,
    ...(f['patch-service-dir'] === undefined ? {} : { patchServiceDir: f['patch-service-dir'] }),
  };
  const layout = f.stage === undefined ? await installLayout(options) : { prefix: options.prefix, staged: await stageLayout(options, f.stage) };
  process.stdout.write(`${JSON.stringify(layout, null, 2)}\n`);
} catch (error) {
  process.stderr.write(`install-layout: ${errorCode(error) ?? 'FLOXK8S_USAGE'}: ${(error as Error).message}\n`);
  process.exit(2);
}
