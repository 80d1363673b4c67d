/**
 * `@flox-k8s/shim/config`: the node's flox-k8s config file, shared by the shim and the node agent.
 * @module
 */
export {
  shimConfigSchema,
  NIXOS_CACHE_KEY,
  DEFAULT_PATCH_SERVICE_DIR,
  type ShimConfig,
  type ShimConfigInput,
  type CacheEntry,
  type EnvironmentSource,
  type HubSource,
  type DirSource,
} from './schema.ts';
export { loadConfig, parseConfig, hostSystem } from './load.ts';
export { cacheConfigs, readSecret } from './credentials.ts';
export { DEFAULT_CONFIG_PATH } from '../env.ts';
export { ConfigInvalidError, ShimError } from '../errors.ts';
