// What a compressed stream may make its decoder allocate: the one home of the decoders' memory
// limits and of what a decode that met one says. A stream declares its xz dictionary or zstd window
// itself (no signature covers the compressed file), and a decoder touches as much of it as it
// outputs, up to the signed NarSize: unbounded, a few kB could cost hundreds of MB.

/**
 * The most memory an xz decoder (an `xz` process, or liblzma in this process) may use, in MiB. A dictionary of up to 64 MiB (that of
 * `xz -9`, the largest preset, and the largest the WASM decoder accepts) fits; a larger one is refused
 * with xz's own "Memory usage limit reached" (FLOXK8S_DECOMPRESS_FAILED). Unbounded, a 46 kB stream
 * declaring a 4 GiB dictionary and decoding to 300 MB made `xz -dc` hold 309 MB, where the same data
 * with its real 8 MiB dictionary held 10 MB (README, "xz's memory, bounded").
 */
export const XZ_MEMLIMIT_MIB = 80;

/**
 * The largest window a zstd frame may declare: 2^27 = 128 MiB, zstd's own default decoder limit
 * (ZSTD_WINDOWLOG_LIMIT_DEFAULT), which every level up to `--ultra -22` stays within; only frames
 * made with `--long=28` or more exceed it, and `zstd -d` refuses those too unless told otherwise. The
 * decoder runs in this process: a 9.9 kB frame declaring a 2 GiB window and decoding to 300 MB peaked
 * at 446 MB (147 MB with its real 2 MiB window, 274 MB declaring 128 MiB; README, "zstd's window,
 * bounded"). A larger one fails with FLOXK8S_DECOMPRESS_FAILED.
 */
export const ZSTD_WINDOW_LOG_MAX = 27;

/** The option a decoder process of this compression runs with besides `-dc`, whichever way it is started. */
export function decoderOption(compression: string): string | undefined {
  return compression === 'xz' ? `--memlimit-decompress=${XZ_MEMLIMIT_MIB}MiB` : undefined;
}

/**
 * What a failed decode says about the NAR (the text after "; "): the limit its stream met, from a
 * decoder process's stderr, zlib's error code, liblzma's lzma_ret or libzstd's error, or else a corrupt file.
 */
export function decodeVerdict(compression: string, failure: { stderr?: string; code?: unknown; lzmaRet?: unknown; zstdError?: unknown }): string {
  if (compression === 'xz' && (failure.stderr?.includes('Memory usage limit reached') === true || failure.lzmaRet === 'LZMA_MEMLIMIT_ERROR')) {
    return `the NAR declares a dictionary larger than the ${XZ_MEMLIMIT_MIB} MiB an xz decoder may use (xz -9's 64 MiB fits)`;
  }
  if (compression === 'zstd' && (failure.code ?? failure.zstdError) === 'ZSTD_error_frameParameter_windowTooLarge') {
    return `the NAR's zstd frame declares a window larger than the ${2 ** (ZSTD_WINDOW_LOG_MAX - 20)} MiB a decoder may use (zstd's own default limit)`;
  }
  return `the NAR file is corrupt or not ${compression}`;
}
