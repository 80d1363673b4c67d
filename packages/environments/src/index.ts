/**
 * `@flox-k8s/environments`: Flox environment references and where they resolve: HTTP(S)
 * environment hubs and directories with the same layout, and FloxHub's git-backed
 * floxmeta repositories, tried in order; publishing into
 * such a directory. `@flox-k8s/environments/resolve` is the reference → lockfile-bytes
 * step alone (no lockfile parser), for a warm container start.
 * @module
 */
export { parseReference, fetchEnvironment, sourceReaders, type ResolvedEnvironment, type FetchedEnvironment } from './resolve.ts';
export { resolveEnvironment, parseFetched } from './parse.ts';
export { publishEnvironment, type PublishedEnvironment, type PublishOptions, type PublishSbomOptions } from './publish.ts';
export { readPublishedSbom, MAX_SBOM_BYTES } from './published-sbom.ts';
export { sbomFileName, sbomPath, type PublishedSbomFormat } from './sbom-layout.ts';
export { publishEnvironmentToHub } from './publish-hub.ts';
export { MAX_LOCKFILE_BYTES, generationPath } from './layout.ts';
export type { EnvironmentSourceReader, ReferenceSourceReader, RequestToken, SourceAnswer, SourceReader } from './types.ts';
export { EnvironmentDigestMismatchError, EnvironmentNotFoundError, EnvironmentSourceError, PublishFailedError, PublishSbomError } from './errors.ts';
export {
  FloxmetaBranchMovedError,
  FloxmetaEnvironmentNotFoundError,
  FloxmetaForbiddenError,
  FloxmetaGenerationNotFoundError,
  FloxmetaLockfileInvalidError,
  FloxmetaLockfileMissingError,
  FloxmetaMetadataInvalidError,
  FloxmetaOwnerNotFoundError,
  FloxmetaTimeoutError,
  FloxmetaTokenMissingError,
  FloxmetaTooLargeError,
  FloxmetaTransportError,
  FloxmetaUnauthorizedError,
} from './floxmeta/errors.ts';
