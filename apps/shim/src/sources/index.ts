export { parseReference, resolveEnvironment, fetchEnvironment, parseFetched, sourceReaders, type ResolvedEnvironment, type FetchedEnvironment } from './resolve.ts';
export { publishEnvironment, type PublishedEnvironment } from './publish.ts';
export type { SourceReader } from './types.ts';
