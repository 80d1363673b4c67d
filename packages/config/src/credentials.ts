import { readFile } from 'node:fs/promises';
import type { CacheConfig } from '@flox-k8s/nar';
import { ConfigInvalidError } from './errors.ts';
import type { ShimConfig } from './schema.ts';

/** Turns the configured caches into `@flox-k8s/nar` cache configs, reading credential files. */
export async function cacheConfigs(config: Pick<ShimConfig, 'caches'>): Promise<CacheConfig[]> {
  return Promise.all(
    config.caches.map(async (cache): Promise<CacheConfig> => {
      const out: CacheConfig = { url: cache.url };
      if (cache.priority !== undefined) out.priority = cache.priority;
      if (cache.credentialsFile === undefined) return out;
      const secret = await readSecret(cache.credentialsFile);
      if (cache.credentialsType === 'bearer') {
        out.credentials = { bearer: secret };
      } else {
        const colon = secret.indexOf(':');
        if (colon <= 0) {
          throw new ConfigInvalidError(`credentials file ${cache.credentialsFile}: expected user:password for basic auth`);
        }
        out.credentials = { username: secret.slice(0, colon), password: secret.slice(colon + 1) };
      }
      return out;
    }),
  );
}

/** Reads a one-line secret (token file, mounted Secret); trailing newline removed. */
export async function readSecret(path: string): Promise<string> {
  let text: string;
  try {
    text = await readFile(path, 'utf8');
  } catch (error) {
    throw new ConfigInvalidError(`cannot read secret file ${path}: ${(error as Error).message}`, { cause: error });
  }
  const secret = text.trim();
  if (secret === '' || /[\r\n]/.test(secret)) {
    throw new ConfigInvalidError(`secret file ${path}: expected one non-empty line`);
  }
  return secret;
}
