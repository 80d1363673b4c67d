import { formatEnvironmentRef } from '@flox-k8s/lockfile/reference';
import { z } from 'zod';
import { defineCommand } from '../command.ts';
import { CliUsageError } from '../errors.ts';
import { readLockfileArg } from '../files.ts';
import { lockfileFlag, outputSchema, pathFlag, referenceFlag, sourceEntry } from '../flags.ts';
import { maskHubTokens } from '../node-config.ts';

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
}

export const publishCommand = defineCommand({
  name: 'publish',
  summary: 'publish a lockfile as the next generation of an environment in a directory or HTTP hub',
  arguments: [
    { name: 'environment', description: 'owner/name to publish to', required: true },
    { name: 'lockfile', description: 'the manifest.lock to publish (- for stdin)', required: true },
  ],
  help: `
Prints the new generation's two references, one per line:
  acme/hello:3
  acme/hello@sha256:<digest of the lockfile bytes>

A directory gets <owner>/<name>/generations/<N>/manifest.lock, by-digest/<hex> and live.
An HTTP hub gets the same files by PUT (create-only generations, then by-digest, then
live), with the --token-file bearer token.

Example:
  flox-k8s publish acme/hello .flox/env/manifest.lock --to https://hub.example.com/environments --token-file /run/secrets/hub-token`,
  options(cmd) {
    cmd
      .requiredOption('--to <dir|url>', 'where to publish: a directory with the hub layout, or an http(s):// hub that takes PUT')
      .option('--token-file <file>', 'bearer token for an HTTP hub (a one-line file)');
  },
  schema: (env) =>
    z.object({
      environment: referenceFlag.refine((ref) => ref.kind === 'live', 'expected owner/name without :generation or @sha256: (publish makes the next generation)'),
      lockfile: lockfileFlag(env),
      to: z.string().min(1),
      tokenFile: pathFlag(env).optional(),
      output: outputSchema,
    }),
  async run(flags, ctx) {
    const target = sourceEntry(flags.to, ctx.env, flags.tokenFile, '--to');
    if (target.type === 'dir' && flags.tokenFile !== undefined) throw new CliUsageError('--token-file goes with an http(s):// --to hub, not a directory');
    await maskHubTokens([target], ctx.redactor);
    const bytes = await readLockfileArg(flags.lockfile, ctx.stdin);
    const { owner, name } = flags.environment;
    const { publishEnvironment, publishEnvironmentToHub } = await import('@flox-k8s/environments');
    const published = target.type === 'dir' ? await publishEnvironment(target.path, owner, name, bytes) : await publishEnvironmentToHub(target, owner, name, bytes);
    const json: PublishJson = {
      environment: `${owner}/${name}`,
      generation: published.generation,
      digest: published.digest,
      reference: formatEnvironmentRef({ owner, name, kind: 'generation', generation: published.generation }),
      pinned: formatEnvironmentRef({ owner, name, kind: 'digest', digest: published.digest }),
      target: target.type === 'dir' ? `dir ${target.path}` : `hub ${target.url}`,
    };
    return { json, human: `${json.reference}\n${json.pinned}\n` };
  },
});
