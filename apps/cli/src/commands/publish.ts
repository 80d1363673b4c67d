import { formatEnvironmentRef } from '@flox-k8s/lockfile/reference';
import { z } from 'zod';
import { defineCommand } from '../command.ts';
import { CliUsageError } from '../errors.ts';
import { readLockfileArg } from '../files.ts';
import { addCacheOptions, addConfigOption, cacheFlags, lockfileFlag, outputSchema, pathFlag, referenceFlag, sourceEntry, systemFlag } from '../flags.ts';
import { cliCaches, cliConfig, maskHubTokens } from '../node-config.ts';

/** What `publish --output json` prints. */
export interface PublishJson {
  environment: string;
  generation: number;
  digest: string;
  /** `owner/name:N` */
  reference: string;
  /** `owner/name@sha256:<digest>` */
  pinned: string;
  /** Where it went: `dir /path` or `hub https://…`. */
  target: string;
  /** The SBOMs written beside `manifest.lock` (empty with `--no-sbom`): file name and where it is (a path, or the hub URL). */
  sboms: Array<{ file: string; location: string }>;
}

export const publishCommand = defineCommand({
  name: 'publish',
  summary: 'publish a lockfile as the next generation of an environment in a directory or HTTP hub, with its SBOMs',
  arguments: [
    { name: 'environment', description: 'owner/name to publish to', required: true },
    { name: 'lockfile', description: 'the manifest.lock to publish (- for stdin)', required: true },
  ],
  help: `
Prints the new generation's two references, then its SBOM files, one per line:
  acme/hello:3
  acme/hello@sha256:<digest of the lockfile bytes>
  sbom: <dir>/acme/hello/generations/3/sbom.x86_64-linux.cdx.json
  sbom: <dir>/acme/hello/generations/3/sbom.x86_64-linux.spdx.json

A directory gets <owner>/<name>/generations/<N>/manifest.lock, by-digest/<hex> and live.
An HTTP hub gets the same files by PUT (create-only generations, then by-digest, then
live), with the --token-file bearer token.

SBOMs (CycloneDX 1.6 and SPDX 2.3 per system) are made from the signed narinfos of the
closure in the binary caches: --cache/--trusted-key, else the node config's caches and keys
(default cache.nixos.org). They are made before anything is written: a closure path the
caches cannot describe fails (FLOXK8S_ENV_PUBLISH_SBOM_FAILED) and publishes nothing.
--no-sbom publishes the lockfile alone.

Example:
  flox-k8s publish acme/hello .flox/env/manifest.lock --to https://hub.example.com/environments --token-file /run/secrets/hub-token`,
  options(cmd) {
    cmd
      .requiredOption('--to <dir|url>', 'where to publish: a directory with the hub layout, or an http(s):// hub that takes PUT')
      .option('--token-file <file>', 'bearer token for an HTTP hub (a one-line file)')
      .option('--sbom-system <system>', 'a system to write SBOMs for, repeatable (default: every system of the lockfile)', (value: string, previous: string[] | undefined) => [...(previous ?? []), value])
      .option('--no-sbom', 'publish without SBOMs (no binary cache is asked)');
    addCacheOptions(cmd);
    addConfigOption(cmd);
  },
  schema: (env) =>
    cacheFlags.extend({
      environment: referenceFlag.refine((ref) => ref.kind === 'live', 'expected owner/name without :generation or @sha256: (publish makes the next generation)'),
      lockfile: lockfileFlag(env),
      to: z.string().min(1),
      tokenFile: pathFlag(env).optional(),
      config: pathFlag(env).optional(),
      sbom: z.boolean().default(true),
      sbomSystem: z.array(systemFlag).default([]),
      output: outputSchema,
    }),
  async run(flags, ctx) {
    const target = sourceEntry(flags.to, ctx.env, flags.tokenFile, '--to');
    if (target.type === 'dir' && flags.tokenFile !== undefined) throw new CliUsageError('--token-file goes with an http(s):// --to hub, not a directory');
    if (!flags.sbom && (flags.sbomSystem.length > 0 || flags.cache.length > 0 || flags.trustedKey.length > 0)) {
      throw new CliUsageError('--sbom-system, --cache and --trusted-key say how to make the SBOMs; --no-sbom makes none');
    }
    await maskHubTokens([target], ctx.redactor);
    const bytes = await readLockfileArg(flags.lockfile, ctx.stdin);
    const { owner, name } = flags.environment;
    let sbom;
    if (flags.sbom) {
      const config = cliConfig({ config: flags.config, cache: flags.cache, trustedKey: flags.trustedKey }, ctx.env);
      const caches = await cliCaches(config, ctx.redactor);
      sbom = { caches, trustedKeys: config.trustedKeys, signal: ctx.signal, ...(flags.sbomSystem.length > 0 ? { systems: flags.sbomSystem } : {}) };
    }
    const { generationPath, publishEnvironment, publishEnvironmentToHub } = await import('@flox-k8s/environments');
    const options = sbom === undefined ? {} : { sbom };
    const published = target.type === 'dir' ? await publishEnvironment(target.path, owner, name, bytes, options) : await publishEnvironmentToHub(target, owner, name, bytes, options);
    // The SBOMs sit beside the generation's manifest.lock.
    const manifest = generationPath(owner, name, published.generation);
    const beside = (file: string): string => manifest.slice(0, manifest.lastIndexOf('/') + 1) + file;
    const location = (file: string): string => (target.type === 'dir' ? `${target.path}/${beside(file)}` : new URL(beside(file), target.url.endsWith('/') ? target.url : `${target.url}/`).href);
    const json: PublishJson = {
      environment: `${owner}/${name}`,
      generation: published.generation,
      digest: published.digest,
      reference: formatEnvironmentRef({ owner, name, kind: 'generation', generation: published.generation }),
      pinned: formatEnvironmentRef({ owner, name, kind: 'digest', digest: published.digest }),
      target: target.type === 'dir' ? `dir ${target.path}` : `hub ${target.url}`,
      sboms: published.sboms.map((file) => ({ file, location: location(file) })),
    };
    return { json, human: [json.reference, json.pinned, ...json.sboms.map((s) => `sbom: ${s.location}`)].join('\n') + '\n' };
  },
});
