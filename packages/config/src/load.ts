import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { ConfigInvalidError } from './errors.ts';
import { formatIssues } from '@flox-k8s/core';
import type { z } from 'zod';
import { shimConfigSchema, type environmentSourceSchema, type EnvironmentSource, type ShimConfig } from './schema.ts';

/** The Nix system string of this machine (`x86_64-linux`, `aarch64-linux`). */
export function hostSystem(): string {
  const arch = process.arch === 'x64' ? 'x86_64' : process.arch === 'arm64' ? 'aarch64' : process.arch;
  return `${arch}-${process.platform}`;
}

/** Validates a parsed config object; throws ConfigInvalidError naming the bad paths. */
export function parseConfig(input: unknown, source = 'config'): ShimConfig {
  const result = shimConfigSchema.safeParse(input);
  if (!result.success) {
    throw new ConfigInvalidError(`${source}: ${formatIssues(result.error)}`);
  }
  const { data } = result;
  // A floxmeta source caches beside the store unless told otherwise.
  return { ...data, sources: withSourceCaches(data.sources, join(data.storeRoot, 'floxmeta')), system: data.system ?? hostSystem() };
}

/** Validated sources with every floxmeta source's `cacheDir` filled in (`defaultCacheDir` when it names none). */
export function withSourceCaches(sources: readonly z.output<typeof environmentSourceSchema>[], defaultCacheDir: string): EnvironmentSource[] {
  return sources.map((s) => (s.type === 'floxmeta' ? { ...s, cacheDir: s.cacheDir ?? defaultCacheDir } : s));
}

/**
 * Loads the shim config from `path`. A missing file means "all defaults" unless
 * `required` (the path was named explicitly), in which case it is an error.
 */
export function loadConfig(path: string, options: { required?: boolean } = {}): ShimConfig {
  let text: string;
  try {
    text = readFileSync(path, 'utf8');
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === 'ENOENT' && options.required !== true) return parseConfig({}, path);
    throw new ConfigInvalidError(`cannot read config file ${path}: ${(error as Error).message}; create it or fix FLOXK8S_CONFIG`, { cause: error });
  }
  let json: unknown;
  try {
    json = JSON.parse(text);
  } catch (error) {
    throw new ConfigInvalidError(`config file ${path} is not valid JSON: ${(error as Error).message}`, { cause: error });
  }
  return parseConfig(json, path);
}
