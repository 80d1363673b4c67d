import { FloxK8sError } from '@flox-k8s/core';

/**
 * Base class of every error this package throws; `code` is stable, messages are not.
 * `instanceof` holds across duplicate installs (the `@flox-k8s/core` error base).
 */
export class NarError extends FloxK8sError {
  static override readonly family = '@flox-k8s/nar' as const;
}

type ErrorOptions = { cause?: unknown };

function coded(code: string, name: string): new (message: string, options?: ErrorOptions) => NarError {
  const cls = class extends NarError {
    static override readonly code: string = code;
    constructor(message: string, options?: ErrorOptions) {
      super(code, message, options);
    }
  };
  Object.defineProperty(cls, 'name', { value: name });
  return cls;
}

/** The NAR stream breaks the archive grammar (unexpected tag, wrong node type, …). */
export class NarFormatError extends NarError {
  static override readonly code = 'FLOXK8S_NAR_FORMAT' as const;
  constructor(message: string, options?: ErrorOptions) {
    super('FLOXK8S_NAR_FORMAT', message, options);
  }
}
/** The stream does not start with the `nix-archive-1` magic. */
export const NarBadMagicError: ReturnType<typeof coded> = coded('FLOXK8S_NAR_BAD_MAGIC', 'NarBadMagicError');
/** A padding byte after a string is not zero. */
export const NarBadPaddingError: ReturnType<typeof coded> = coded('FLOXK8S_NAR_BAD_PADDING', 'NarBadPaddingError');
/** Directory entries are not strictly byte-sorted (this includes duplicates). */
export const NarUnsortedError: ReturnType<typeof coded> = coded('FLOXK8S_NAR_UNSORTED', 'NarUnsortedError');
/** An entry name is empty, `.`, `..`, or contains `/` or NUL. */
export const NarBadNameError: ReturnType<typeof coded> = coded('FLOXK8S_NAR_BAD_NAME', 'NarBadNameError');
/** A symlink target is empty or contains NUL. */
export const NarBadSymlinkError: ReturnType<typeof coded> = coded('FLOXK8S_NAR_BAD_SYMLINK', 'NarBadSymlinkError');
/** A configured limit (name length, depth, total size, string length) was exceeded. */
export const NarLimitError: ReturnType<typeof coded> = coded('FLOXK8S_NAR_LIMIT', 'NarLimitError');
/** The stream ended before the archive was complete. */
export const NarTruncatedError: ReturnType<typeof coded> = coded('FLOXK8S_NAR_TRUNCATED', 'NarTruncatedError');
/** Bytes follow the end of the archive. */
export const NarTrailingDataError: ReturnType<typeof coded> = coded('FLOXK8S_NAR_TRAILING_DATA', 'NarTrailingDataError');
/** The unpack destination already exists or could not be created safely. */
export const NarDestinationError: ReturnType<typeof coded> = coded('FLOXK8S_NAR_DESTINATION', 'NarDestinationError');
/** `dumpNar` met a file type a NAR cannot hold (socket, device, fifo). */
export const NarUnsupportedFileError: ReturnType<typeof coded> = coded('FLOXK8S_NAR_UNSUPPORTED_FILE', 'NarUnsupportedFileError');
/** The NAR's sha256 differs from the narinfo's `NarHash`. */
export const NarHashMismatchError: ReturnType<typeof coded> = coded('FLOXK8S_NAR_HASH_MISMATCH', 'NarHashMismatchError');
/** The NAR's byte count differs from the narinfo's `NarSize`. */
export const NarSizeMismatchError: ReturnType<typeof coded> = coded('FLOXK8S_NAR_SIZE_MISMATCH', 'NarSizeMismatchError');
/** The compressed file's sha256 differs from the narinfo's `FileHash`. */
export const FileHashMismatchError: ReturnType<typeof coded> = coded('FLOXK8S_FILE_HASH_MISMATCH', 'FileHashMismatchError');
/** The compressed file's byte count differs from the narinfo's `FileSize`. */
export const FileSizeMismatchError: ReturnType<typeof coded> = coded('FLOXK8S_FILE_SIZE_MISMATCH', 'FileSizeMismatchError');
/** A string is not valid Nix base-32. */
export const Nix32InvalidError: ReturnType<typeof coded> = coded('FLOXK8S_NIX32_INVALID', 'Nix32InvalidError');
/** A hash is not sha256 in nix32, hex, base64 or SRI form. */
export const HashInvalidError: ReturnType<typeof coded> = coded('FLOXK8S_HASH_INVALID', 'HashInvalidError');
/** A string is not a valid store path: `@flox-k8s/core`'s, the one owner of `FLOXK8S_STORE_PATH_INVALID`. */
export { StorePathInvalidError } from '@flox-k8s/core';
/** A narinfo (or nix-cache-info) document is malformed. */
export const NarinfoInvalidError: ReturnType<typeof coded> = coded('FLOXK8S_NARINFO_INVALID', 'NarinfoInvalidError');
/** No configured cache has a narinfo for the store path. */
export const NarinfoNotFoundError: ReturnType<typeof coded> = coded('FLOXK8S_NARINFO_NOT_FOUND', 'NarinfoNotFoundError');
/** The narinfo carries no signature by any trusted key. */
export const NarinfoUntrustedError: ReturnType<typeof coded> = coded('FLOXK8S_NARINFO_UNTRUSTED', 'NarinfoUntrustedError');
/** A signature by a trusted key does not verify: the narinfo was altered. */
export const NarinfoSignatureError: ReturnType<typeof coded> = coded('FLOXK8S_NARINFO_SIGNATURE_INVALID', 'NarinfoSignatureError');
/** A public or secret key string is malformed. */
export const KeyInvalidError: ReturnType<typeof coded> = coded('FLOXK8S_KEY_INVALID', 'KeyInvalidError');
/** A credentials file is malformed. */
export const CredentialsInvalidError: ReturnType<typeof coded> = coded('FLOXK8S_CREDENTIALS_INVALID', 'CredentialsInvalidError');
/** The cache answered with an HTTP status we cannot use (after retries, for 5xx). */
export const CacheHttpError: ReturnType<typeof coded> = coded('FLOXK8S_CACHE_HTTP', 'CacheHttpError');
/** Network failure or stall that outlasted the retry budget. */
export const CacheNetworkError: ReturnType<typeof coded> = coded('FLOXK8S_CACHE_NETWORK', 'CacheNetworkError');
/** The narinfo names a compression we cannot decode. */
export const CompressionUnsupportedError: ReturnType<typeof coded> = coded('FLOXK8S_COMPRESSION_UNSUPPORTED', 'CompressionUnsupportedError');
/** The compressed stream is corrupt. */
export const DecompressError: ReturnType<typeof coded> = coded('FLOXK8S_DECOMPRESS_FAILED', 'DecompressError');
/** The operation was aborted through its AbortSignal. */
export const AbortedError: ReturnType<typeof coded> = coded('FLOXK8S_ABORTED', 'AbortedError');
/** A BinaryCacheClient option is out of range. */
export const ClientOptionsInvalidError: ReturnType<typeof coded> = coded('FLOXK8S_CLIENT_OPTIONS_INVALID', 'ClientOptionsInvalidError');
/** A narinfo's `URL` resolves outside its cache (another origin, another scheme, or above the cache's path): refused, credentials never leave. */
export const NarUrlOutsideCacheError: ReturnType<typeof coded> = coded('FLOXK8S_NAR_URL_OUTSIDE_CACHE', 'NarUrlOutsideCacheError');
/** A fetch took longer than its overall deadline (a body trickling in under the stall timeout). */
export const DeadlineExceededError: ReturnType<typeof coded> = coded('FLOXK8S_DEADLINE_EXCEEDED', 'DeadlineExceededError');
