import { cacheConfigs, loadConfig, parseConfig, readSecret, type EnvironmentSource, type ShimConfig, type ShimConfigInput } from '@flox-k8s/config';
import type { CacheConfig } from '@flox-k8s/nar';
import type { CliEnv } from './env.ts';
import { sourceEntry } from './flags.ts';
import type { Redactor } from './output.ts';

/** The flags that shape the node config a command works with. */
export interface ConfigOverrides {
  config?: string | undefined;
  system?: string | undefined;
  source?: string[] | undefined;
  tokenFile?: string | undefined;
  cache?: string[] | undefined;
  trustedKey?: string[] | undefined;
}

/**
 * The node's config file (`--config`, `$FLOXK8S_CONFIG`, else the default path if it
 * exists), with the command line's sources, caches, keys and system in place of the
 * file's. The CLI on a node resolves and realises exactly as the shim there does.
 */
export function cliConfig(flags: ConfigOverrides, env: CliEnv): ShimConfig {
  const base = flags.config !== undefined ? loadConfig(flags.config, { required: true }) : loadConfig(env.configPath, { required: env.configExplicit });
  const input: ShimConfigInput = { ...base };
  if (flags.source !== undefined && flags.source.length > 0) input.sources = flags.source.map((s) => sourceEntry(s, env, flags.tokenFile, '--source'));
  if (flags.cache !== undefined && flags.cache.length > 0) input.caches = flags.cache.map((url) => ({ url, credentialsType: 'bearer' }));
  if (flags.trustedKey !== undefined && flags.trustedKey.length > 0) input.trustedKeys = flags.trustedKey;
  if (flags.system !== undefined) input.system = flags.system;
  return parseConfig(input, 'command line');
}

/** The config's caches with their credential files read; the secrets are masked in all output. */
export async function cliCaches(config: ShimConfig, redactor: Redactor): Promise<CacheConfig[]> {
  const caches = await cacheConfigs(config);
  for (const cache of caches) {
    const credentials = cache.credentials;
    if (credentials === undefined) continue;
    if ('bearer' in credentials) redactor.add(credentials.bearer);
    else redactor.add(credentials.password);
  }
  return caches;
}

/** Masks the hub tokens of `sources` in all output (an unreadable file is the resolver's error to report). */
export async function maskHubTokens(sources: readonly EnvironmentSource[], redactor: Redactor): Promise<void> {
  for (const source of sources) {
    if (source.type !== 'hub' || source.tokenFile === undefined) continue;
    redactor.add(await readSecret(source.tokenFile).catch(() => ''));
  }
}
