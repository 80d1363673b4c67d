import type { ShimConfig } from '@flox-k8s/config';
import type { ResolvedEnvironment } from '@flox-k8s/environments';
import type { EnvironmentRef, Lockfile } from '@flox-k8s/lockfile';
import { formatEnvironmentRef } from '@flox-k8s/lockfile/reference';
import { defineCommand } from '../command.ts';
import type { CliEnv } from '../env.ts';
import { addConfigOption, addSourceOptions, addSystemOption, configFlags, outputSchema, referenceFlag, sourceFlags } from '../flags.ts';
import { cliConfig, maskHubTokens, type ConfigOverrides } from '../node-config.ts';
import type { Redactor } from '../output.ts';

/** What `resolve --output json` prints. */
export interface ResolveJson {
  /** The reference as given. */
  reference: string;
  environment: string;
  generation: number;
  digest: string;
  /** `owner/name:N` */
  pinnedGeneration: string;
  /** `owner/name@sha256:<digest>` */
  pinned: string;
  /** The source that answered (`dir /path`, `hub https://…`). */
  source: string;
  /** Store paths the environment installs, per system (only `--system`'s when given). */
  systems: Record<string, string[]>;
}

/** A reference resolved through the configured (or given) sources. */
export async function resolveReference(ref: EnvironmentRef, flags: ConfigOverrides, env: CliEnv, redactor: Redactor): Promise<{ config: ShimConfig; resolved: ResolvedEnvironment }> {
  const config = cliConfig(flags, env);
  await maskHubTokens(config.sources, redactor);
  const { resolveEnvironment, sourceReaders } = await import('@flox-k8s/environments');
  return { config, resolved: await resolveEnvironment(ref, sourceReaders(config.sources)) };
}

/** Store paths per system: every system of the lockfile, or just one. */
export async function storePathsBySystem(lock: Lockfile, system: string | undefined): Promise<Record<string, string[]>> {
  const { lockfileSystems, storePathsToInstall } = await import('@flox-k8s/lockfile');
  const systems = system === undefined ? lockfileSystems(lock) : [system];
  return Object.fromEntries(systems.map((s) => [s, storePathsToInstall(lock, s)]));
}

export const resolveCommand = defineCommand({
  name: 'resolve',
  summary: 'resolve an environment reference to its generation, digest and store paths per system',
  arguments: [{ name: 'reference', description: 'owner/name, owner/name:N or owner/name@sha256:<hex>', required: true }],
  help: `
Resolves through the sources of the node config (or --source), as the shim on a node does.

Example:
  flox-k8s resolve acme/hello --source https://hub.example.com/environments --output json`,
  options(cmd) {
    addSourceOptions(cmd);
    addSystemOption(cmd);
    addConfigOption(cmd);
  },
  schema: (env) => configFlags(env).extend(sourceFlags(env).shape).extend({ reference: referenceFlag, output: outputSchema }),
  async run(flags, ctx) {
    const { resolved } = await resolveReference(flags.reference, flags, ctx.env, ctx.redactor);
    const { owner, name } = flags.reference;
    const json: ResolveJson = {
      reference: formatEnvironmentRef(flags.reference),
      environment: `${owner}/${name}`,
      generation: resolved.generation,
      digest: resolved.digest,
      pinnedGeneration: formatEnvironmentRef({ owner, name, kind: 'generation', generation: resolved.generation }),
      pinned: formatEnvironmentRef({ owner, name, kind: 'digest', digest: resolved.digest }),
      source: resolved.source,
      systems: await storePathsBySystem(resolved.lock, flags.system),
    };
    const lines = [json.pinnedGeneration, json.pinned, `source: ${json.source}`];
    for (const [system, paths] of Object.entries(json.systems)) lines.push(`${system}: ${paths.length} store path${paths.length === 1 ? '' : 's'}`, ...paths.map((p) => `  ${p}`));
    return { json, human: `${lines.join('\n')}\n` };
  },
});
