export { compress, storePathFor, writeSignedCache, type CacheCompression, type CacheEntry, type CacheNarinfo, type NarCodec } from './hostile-cache.ts';
export { fetchCorpus, flatDirectory, HOSTILE_NARS, type FetchCase, type NarLimits } from './hostile-corpus.ts';
export { expectOutcome, fetchCase, type NarFetcher } from './hostile-expect.ts';
export { narOf, nodeBytes, prng, str, tokens, u64, type NarNode } from './nar-builder.ts';
export { storePathLockfile } from './lockfile.ts';
export { withXzDictionary, withZstdWindow } from './declared-memory.ts';
