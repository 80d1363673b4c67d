/**
 * `@flox-k8s/core`: what every flox-k8s package shares, written once: the coded error
 * base, Nix store path syntax and the activation-variable merge rule.
 * @module
 */
export { FloxK8sError, errorCode, isFloxK8sError } from './errors.ts';
export {
  STORE_DIR,
  STORE_PATH_HASH_LENGTH,
  STORE_PATH_NAME_MAX_LENGTH,
  STORE_PATH_PATTERN,
  StorePathInvalidError,
  isStorePath,
  parseStorePath,
  parseStorePathBase,
  storePathProblem,
  type StorePath,
} from './store-path.ts';
export {
  exportStatement,
  mergeVariable,
  prependSearchPath,
  singleQuote,
  startsWithSearchPath,
  type EnvMerge,
  type MergedVariable,
} from './activation-env.ts';
export { formatIssues, type IssueList } from './zod-issues.ts';
