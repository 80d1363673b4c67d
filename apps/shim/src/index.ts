/**
 * `@flox-k8s/shim`: containerd-shim-flox-v2 (launcher + runc interposer) as a library:
 * environment sources, the runc argv parser and the install layout.
 * Subpaths: `@flox-k8s/shim/config`, `@flox-k8s/shim/agent-protocol`, `@flox-k8s/shim/image`.
 * @module
 */
export { parseReference, fetchEnvironment, resolveEnvironment, parseFetched, sourceReaders, publishEnvironment } from './sources/index.ts';
export type { ResolvedEnvironment, FetchedEnvironment, PublishedEnvironment, SourceReader } from './sources/index.ts';
export { parseRuncArgv, DEFAULT_RUNC_ROOT, type RuncInvocation, type RuncGlobals } from './interposer/argv.ts';
export { installLayout, buildInterposerSnapshot, type InstallLayoutOptions, type InstallLayout } from './install/layout.ts';
export { ESM_REQUIRE_BANNER, NODE_BUNDLE_OPTIONS } from './install/bundle.ts';
export {
  ShimError,
  ConfigInvalidError,
  AnnotationInvalidError,
  EnvironmentNotFoundError,
  EnvironmentSourceError,
  EnvironmentDigestMismatchError,
  RealiseFailedError,
  AgentProtocolError,
  BundleInvalidError,
  RuncArgvError,
  UsageError,
  DemoError,
  errorCode,
} from './errors.ts';
