/**
 * `@flox-k8s/lockfile/reference`: the environment reference grammar alone, without the
 * lockfile parser and its schemas (a warm container start loads only this).
 * @module
 */
export { formatEnvironmentRef, parseEnvironmentRef, MAX_ENVIRONMENT_REF_LENGTH, type EnvironmentRef } from './environment-ref.ts';
export { EnvironmentRefInvalidError } from './errors.ts';
