/**
 * `@flox-k8s/config`: the node's flox-k8s config file (`/etc/flox-k8s/config.json`),
 * read by the shim, the node agent and the CLI alike.
 * @module
 */
export {
  shimConfigSchema,
  environmentSourceSchema,
  NIXOS_CACHE_KEY,
  DEFAULT_CONFIG_PATH,
  DEFAULT_PATCH_SERVICE_DIR,
  storeFsyncOption,
  type ShimConfig,
  type ShimConfigInput,
  type CacheEntry,
  type EnvironmentSource,
  type HubSource,
  type DirSource,
  type FloxmetaSource,
} from './schema.ts';
export { loadConfig, parseConfig, hostSystem, withSourceCaches } from './load.ts';
export { cacheConfigs, readSecret } from './credentials.ts';
export { ConfigInvalidError } from './errors.ts';
