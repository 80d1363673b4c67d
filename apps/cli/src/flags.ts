// Flags shared by several commands: declared once for commander (help text) and once as zod
// schemas. Values are checked with @flox-k8s/config's own schemas, so a flag accepts exactly
// what the node's config file would.
import { isAbsolute, resolve } from 'node:path';
import { environmentSourceSchema, shimConfigSchema, type DirSource, type HubSource } from '@flox-k8s/config';
// The light subpath: parsing flags must not load the lockfile parser or the caches' client.
import { parseReference } from '@flox-k8s/environments/resolve';
import type { EnvironmentRef } from '@flox-k8s/lockfile';
import type { Command } from 'commander';
import { z } from 'zod';
import type { CliEnv } from './env.ts';
import { CliUsageError } from './errors.ts';

const collect = (value: string, previous: string[] | undefined): string[] => [...(previous ?? []), value];

export function addConfigOption(cmd: Command): void {
  cmd.option('--config <file>', 'the node config file (default: $FLOXK8S_CONFIG, else /etc/flox-k8s/config.json if present)');
}

export function addSourceOptions(cmd: Command): void {
  cmd
    .option('--source <dir|url>', 'environment source, repeatable, tried in order (replaces the config\'s sources)', collect)
    .option('--token-file <file>', 'bearer token for the --source hub URLs (a one-line file)');
}

export function addCacheOptions(cmd: Command): void {
  cmd
    .option('--cache <url>', 'binary cache, repeatable (replaces the config\'s caches)', collect)
    .option('--trusted-key <name:key>', 'trusted narinfo signing key, repeatable (replaces the config\'s keys)', collect);
}

export function addSystemOption(cmd: Command): void {
  cmd.option('--system <system>', 'Nix system to use (default: the config\'s, else this machine\'s)');
}

/** `--output human|json`, on every command. */
export const outputSchema = z.enum(['human', 'json']).default('human');

/** A path on the command line, made absolute against where the user ran the command. */
export const pathFlag = (env: CliEnv) =>
  z.string().min(1, 'expected a path').transform((p) => (isAbsolute(p) ? p : resolve(env.cwd, p)));

/** An environment reference (`owner/name`, `owner/name:N`, `owner/name@sha256:<hex>`), checked with the resolver's grammar. */
export const referenceFlag = z.string().transform((value, ctx): EnvironmentRef => {
  try {
    return parseReference(value);
  } catch (error) {
    ctx.addIssue({ code: 'custom', message: (error as Error).message });
    return z.NEVER;
  }
});

const httpUrl = /^https?:\/\//i;

/** Issues of a config-schema check, moved onto a flag's path. */
function checkWith(schema: z.ZodType, value: unknown, ctx: z.RefinementCtx): void {
  const result = schema.safeParse(value);
  if (!result.success) for (const issue of result.error.issues) ctx.addIssue({ code: 'custom', message: issue.message });
}

/** A Nix system (`x86_64-linux`), checked as the config file's `system`. */
export const systemFlag = z.string().superRefine((system, ctx) => checkWith(shimConfigSchema.shape.system, system, ctx));

export const configFlags = (env: CliEnv) =>
  z.object({
    config: pathFlag(env).optional(),
    system: systemFlag.optional(),
  });

export const sourceFlags = (env: CliEnv) =>
  z.object({
    source: z.array(z.string().min(1)).default([]),
    tokenFile: pathFlag(env).optional(),
  });

export const cacheFlags = z.object({
  cache: z
    .array(z.string())
    .default([])
    .superRefine((urls, ctx) => checkWith(shimConfigSchema.shape.caches, urls.map((url) => ({ url })), ctx)),
  trustedKey: z
    .array(z.string())
    .default([])
    .superRefine((keys, ctx) => checkWith(shimConfigSchema.shape.trustedKeys, keys, ctx)),
});

/**
 * A `--source` or `--to` value as a source entry: a hub for http(s) URLs, else a directory
 * (relative to where the command was run), checked with the config file's schema.
 */
export function sourceEntry(value: string, env: CliEnv, tokenFile: string | undefined, flag: string): HubSource | DirSource {
  const input = httpUrl.test(value)
    ? { type: 'hub', url: value, ...(tokenFile === undefined ? {} : { tokenFile }) }
    : { type: 'dir', path: isAbsolute(value) ? value : resolve(env.cwd, value) };
  const result = environmentSourceSchema.safeParse(input);
  if (!result.success) throw new CliUsageError(`${flag} ${value}: ${result.error.issues.map((i) => i.message).join('; ')}`);
  const source = result.data;
  if (source.type === 'floxmeta') throw new CliUsageError(`${flag} ${value}: a floxmeta source is configured in the node config, not given as a flag`);
  return source;
}

/** A lockfile on the command line: a path (made absolute) or `-` for stdin. */
export const lockfileFlag = (env: CliEnv) =>
  z.string().min(1, 'expected a path or -').transform((p) => (p === '-' || isAbsolute(p) ? p : resolve(env.cwd, p)));

/** A whole number flag (`--concurrency 8`), given as text. */
export const countFlag = (min: number, max: number) =>
  z.string().regex(/^[0-9]+$/, 'expected a whole number').transform(Number).pipe(z.number().int().min(min).max(max));

/**
 * The flags of a command that works on one environment (`realise`, `sbom`): a reference
 * argument or `--lockfile`, plus where to resolve and fetch it.
 */
export function addEnvironmentOptions(cmd: Command): void {
  cmd.option('--lockfile <file>', 'use this lockfile instead of a reference (- for stdin)');
  addSourceOptions(cmd);
  addCacheOptions(cmd);
  addSystemOption(cmd);
  addConfigOption(cmd);
}

export const environmentFlags = (env: CliEnv) =>
  configFlags(env)
    .extend(sourceFlags(env).shape)
    .extend(cacheFlags.shape)
    .extend({ reference: referenceFlag.optional(), lockfile: lockfileFlag(env).optional(), store: pathFlag(env).optional(), output: outputSchema });
