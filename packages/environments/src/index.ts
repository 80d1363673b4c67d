export { parseReference, fetchEnvironment, sourceReaders, type ResolvedEnvironment, type FetchedEnvironment } from './resolve.ts';
export { resolveEnvironment, parseFetched } from './parse.ts';
export { publishEnvironment, type PublishedEnvironment } from './publish.ts';
export type { SourceReader } from './types.ts';
