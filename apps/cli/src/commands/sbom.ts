import { createHash } from 'node:crypto';
import { existsSync } from 'node:fs';
import { join } from 'node:path';
import type { Lockfile } from '@flox-k8s/lockfile';
import type { ClosurePathInfo } from '@flox-k8s/sbom';
import type { PathInfo, Store } from '@flox-k8s/store';
import { z } from 'zod';
import { defineCommand } from '../command.ts';
import { environmentInput } from '../environment-input.ts';
import { CliFileError, CliUsageError } from '../errors.ts';
import { writeOutputFile } from '../files.ts';
import { addEnvironmentOptions, environmentFlags, pathFlag, referenceFlag } from '../flags.ts';
import { cliCaches } from '../node-config.ts';

/** What `sbom --out FILE --output json` prints (without --out, stdout is the SBOM itself). */
export interface SbomFileJson {
  file: string;
  format: 'cyclonedx' | 'spdx';
  environment: string;
  system: string;
  /** Components besides the environment itself: one per closure path. */
  components: number;
  bytes: number;
  sha256: string;
}

const FORMAT_NAMES = { cyclonedx: 'CycloneDX 1.6', spdx: 'SPDX 2.3' } as const;

/** The closure's path infos from a realised store's records (what a node serves), walking References. */
async function closureFromStore(store: Store, lock: Lockfile, system: string): Promise<PathInfo[]> {
  const { storePathsToInstall } = await import('@flox-k8s/lockfile');
  const infos = new Map<string, PathInfo>();
  const pending = [...storePathsToInstall(lock, system)];
  while (pending.length > 0) {
    const path = pending.pop() as string;
    if (infos.has(path)) continue;
    const info = store.pathInfo(path);
    // A missing path is left out: environmentSbom names it (FLOXK8S_SBOM_CLOSURE_INCOMPLETE).
    if (info === undefined) continue;
    infos.set(path, info);
    pending.push(...info.references);
  }
  return [...infos.values()];
}

export const sbomCommand = defineCommand({
  name: 'sbom',
  summary: 'write the CycloneDX or SPDX SBOM of an environment, derived from its lockfile and its closure\'s path infos',
  arguments: [{ name: 'reference', description: 'owner/name[:N|@sha256:<hex>] (or use --lockfile with --name)', required: false }],
  help: `
One component per closure path, with its NarHash, references, licence and purl; the same
lockfile gives the same bytes. Path infos come from the binary caches' signed narinfos
(no NAR is downloaded), or with --store from a realised store's records.
Without --out the SBOM is written to stdout (in both output modes: it is one JSON document).

Examples:
  flox-k8s sbom acme/hello:3 --format spdx --out hello.spdx.json
  flox-k8s sbom --lockfile manifest.lock --name acme/hello --cache https://cache.nixos.org`,
  options(cmd) {
    cmd
      .option('--format <format>', 'cyclonedx (default) or spdx')
      .option('--out <file>', 'write the SBOM to this file (whole or not at all) instead of stdout')
      .option('--name <owner/name[:N]>', 'who the --lockfile environment is (required with --lockfile)')
      .option('--store <dir>', 'take path infos from this realised store instead of the binary caches');
    addEnvironmentOptions(cmd);
  },
  schema: (env) =>
    environmentFlags(env).extend({
      name: referenceFlag.refine((ref) => ref.kind !== 'digest', 'expected owner/name or owner/name:N').optional(),
      format: z.enum(['cyclonedx', 'spdx']).default('cyclonedx'),
      out: pathFlag(env).optional(),
    }),
  async run(flags, ctx) {
    if (flags.lockfile !== undefined && flags.name === undefined) throw new CliUsageError('--lockfile needs --name owner/name[:N]: the SBOM names the environment');
    if (flags.reference !== undefined && flags.name !== undefined) throw new CliUsageError('--name goes with --lockfile; a reference names the environment itself');
    const input = await environmentInput(flags, ctx);
    const system = input.config.system;
    let closure: ClosurePathInfo[];
    if (flags.store !== undefined) {
      if (!existsSync(join(flags.store, 'store'))) throw new CliFileError(`no store at ${flags.store} (expected ${join(flags.store, 'store')}); realise the environment there first`);
      const { Store } = await import('@flox-k8s/store');
      closure = await closureFromStore(await Store.open(flags.store, { recover: false }), input.lock, system);
    } else {
      const [{ BinaryCacheClient }, { closureFromCache }] = await Promise.all([import('@flox-k8s/nar'), import('@flox-k8s/sbom')]);
      const client = new BinaryCacheClient({ caches: await cliCaches(input.config, ctx.redactor), trustedKeys: input.config.trustedKeys });
      try {
        closure = await closureFromCache(client, input.lock, system, { signal: ctx.signal });
      } finally {
        await client.close();
      }
    }
    const { cycloneDxJson, environmentSbom, spdxJson } = await import('@flox-k8s/sbom');
    const sbom = environmentSbom({ lockfile: input.lock, system, closure, environment: input.identity });
    const text = flags.format === 'spdx' ? spdxJson(sbom) : cycloneDxJson(sbom);
    if (flags.out === undefined) return { json: undefined, jsonText: text, human: text };
    await writeOutputFile(flags.out, text);
    const json: SbomFileJson = {
      file: flags.out,
      format: flags.format,
      environment: input.label ?? `${input.identity.owner}/${input.identity.name}`,
      system,
      components: sbom.components.length,
      bytes: Buffer.byteLength(text),
      sha256: createHash('sha256').update(text).digest('hex'),
    };
    return { json, human: `wrote the ${FORMAT_NAMES[flags.format]} SBOM of ${json.environment} (${system}, ${json.components} components) to ${json.file}\n` };
  },
});
