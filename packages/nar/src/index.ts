export * from './errors.ts';
export { nix32Encode, nix32Decode, nix32Length } from './nix32.ts';
export { parseSha256, normaliseSha256, formatSha256, sha256Nix32 } from './hash.ts';
// Store path syntax is @flox-k8s/core's (one rule for every package); re-exported for compatibility.
export { parseStorePath, parseStorePathBase, type StorePath } from '@flox-k8s/core';
export { dumpNar, dumpNarSync, hashPath } from './nar-dump.ts';
export { dumpNarByteStream } from './nar-dump-bytes.ts';
export { NarParser, parseNar, type NarHandler, type NarLimits, type NarSink } from './nar-parse.ts';
export { unpackNar, hashNar, type UnpackOptions, type NarDigest } from './nar-unpack.ts';
export { removeTree } from './remove-tree.ts';
export { parseNarinfo, serializeNarinfo, parseNixCacheInfo, type Narinfo, type NixCacheInfo } from './narinfo.ts';
export {
  parsePublicKey,
  parseSecretKey,
  publicKeyOf,
  narinfoFingerprint,
  verifyNarinfoSignature,
  signNarinfo,
  type PublicKey,
  type SecretKey,
} from './signatures.ts';
export {
  parseCredentialsFile,
  loadCredentialsFile,
  credentialsFor,
  credentialsFileSchema,
  type CacheCredentials,
  type CredentialsTable,
} from './credentials.ts';
export { decompress, supportedCompressions, type DecodeHint, type DecoderOptions } from './decompress.ts';
export { liblzmaRuntimePackages, liblzmaStatus } from './liblzma.ts';
export { libzstdStatus } from './libzstd.ts';
export { closeDecoderProcesses } from './decoder-processes.ts';
export { fetchesWhole, WHOLE_NAR_MAX_BYTES } from './fetch-nar.ts';
export { deadlineMs, withDeadline, NAR_DEADLINE, NARINFO_DEADLINE_MS, type DeadlinePolicy } from './deadline.ts';
export {
  BinaryCacheClient,
  type BinaryCacheClientOptions,
  type CacheConfig,
  type FoundNarinfo,
  type ClientEvent,
} from './client.ts';
