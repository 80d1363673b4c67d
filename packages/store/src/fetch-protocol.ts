import type { CacheConfig, DecoderOptions, FoundNarinfo } from '@flox-k8s/nar';

/** What a fetch worker is started with. */
export interface FetchWorkerConfig {
  caches: CacheConfig[];
  trustedKeys: string[];
  storeDir: string;
  concurrency: number;
  decoders: DecoderOptions;
}

// The store decodes with @flox-k8s/nar's defaults (zstd in 512 KiB chunks, fed 1 MiB at a time): a cold
// realise is CPU-bound, and the decoded chunks are freed as soon as they are written.
export const STORE_DECODERS: DecoderOptions = {};

/** Messages from the pool to a worker. */
export type ToWorker =
  | { type: 'fetch'; id: number; found: FoundNarinfo; dest: string }
  | { type: 'abort'; id: number }
  | { type: 'close' };

/** Result of one fetchNar. */
export interface FetchedNar {
  narHash: string;
  narSize: number;
  fileSize: number;
}

/** An error as it crosses the thread boundary: name, message, code and the cause chain's codes. */
export interface SerializedError {
  name: string;
  message: string;
  code?: string | undefined;
  cause?: SerializedError | undefined;
}

/** Messages from a worker to the pool. */
export type ToPool =
  | { type: 'progress'; id: number; bytesIn: number; bytesOut: number; narSize: number }
  | { type: 'done'; id: number; result: FetchedNar }
  | { type: 'error'; id: number; error: SerializedError };

/** Flattens an error for postMessage (structured clone drops `code` and other own properties). */
export function serializeError(err: unknown, depth = 0): SerializedError {
  const e = (typeof err === 'object' && err !== null ? err : { message: String(err) }) as { name?: unknown; message?: unknown; code?: unknown; cause?: unknown };
  return {
    name: typeof e.name === 'string' ? e.name : 'Error',
    message: typeof e.message === 'string' ? e.message : String(err),
    code: typeof e.code === 'string' ? e.code : undefined,
    cause: e.cause !== undefined && depth < 8 ? serializeError(e.cause, depth + 1) : undefined,
  };
}

/** The error again, on this side: an Error with the same name, message, code and causes. */
export function deserializeError(s: SerializedError): Error {
  const err = new Error(s.message, s.cause ? { cause: deserializeError(s.cause) } : undefined) as Error & { code?: string };
  err.name = s.name;
  if (s.code !== undefined) err.code = s.code;
  return err;
}
