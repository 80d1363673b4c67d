import { lstatSync } from 'node:fs';
import { availableParallelism } from 'node:os';
import { Agent, interceptors, type Dispatcher } from 'undici';
import { authorizationHeader, credentialsFor, loadCredentialsFile, type CacheCredentials, type CredentialsTable } from './credentials.ts';
import { DecoderSlots } from './decoder-processes.ts';
import { takesDecoderSlot, decodesOnCallingThread, type DecoderOptions } from './decompress.ts';
import type { NarLimits } from './nar-parse.ts';
import { deadlineMs, NAR_DEADLINE, NARINFO_DEADLINE_MS, withDeadline, type DeadlinePolicy } from './deadline.ts';
import { CacheNetworkError, ClientOptionsInvalidError, NarDestinationError, type NarError, NarinfoInvalidError, NarinfoNotFoundError } from './errors.ts';
import type { ClientEvent } from './client-event.ts';
import { WHOLE_NAR_MAX_BYTES, WholeNarBudget, fetchNarOnce } from './fetch-nar.ts';
import { get, smallText } from './http.ts';
import { parseNarinfo, parseNixCacheInfo, type Narinfo, type NixCacheInfo } from './narinfo.ts';
import { checkCompression, narUrl } from './nar-url.ts';
import { removeTree } from './remove-tree.ts';
import { isTransient, withRetries, type RetryPolicy } from './retry.ts';
import { parsePublicKey, verifyNarinfoSignature, type PublicKey } from './signatures.ts';
import { parseStorePath, parseStorePathBase } from '@flox-k8s/core';

/** One binary cache. Lower `priority` is tried first (default: the cache's nix-cache-info Priority, else 50). */
export interface CacheConfig {
  url: string;
  priority?: number;
  credentials?: CacheCredentials;
}

/** A verified narinfo and the cache that served it. */
export interface FoundNarinfo {
  narinfo: Narinfo;
  cache: CacheConfig;
}

export type { ClientEvent } from './client-event.ts';

/** Options of BinaryCacheClient. */
export interface BinaryCacheClientOptions {
  caches: CacheConfig[];
  /** `name:base64` ed25519 keys; every narinfo must carry a valid signature by one. */
  trustedKeys: string[];
  /** Connections per cache origin (default 16). */
  concurrency?: number;
  /** Extra attempts after a transient failure (default 4). */
  retries?: number;
  /** First backoff delay in ms (default 250); doubles per attempt, with jitter, capped by retryMaxDelayMs (default 10 s). */
  retryBaseDelayMs?: number;
  retryMaxDelayMs?: number;
  /** A response that sends nothing for this long is a stall and is retried (default 30 s). */
  stallTimeoutMs?: number;
  /** How long a "not in any cache" answer is remembered (default 60 s). */
  negativeTtlMs?: number;
  /**
   * Overall deadline of one NAR fetch, retries included: `max(narDeadlineMinMs, FileSize (else
   * NarSize) / narDeadlineMinBytesPerSecond)`; defaults 5 minutes and 256 KiB/s. Past it the fetch
   * stops with FLOXK8S_DEADLINE_EXCEEDED and its destination is removed.
   */
  narDeadlineMinMs?: number;
  narDeadlineMinBytesPerSecond?: number;
  /** Overall deadline of one narinfo (or nix-cache-info) lookup, retries included (default 60 s). */
  narinfoDeadlineMs?: number;
  /** A credentials file (see README) applied to caches without inline credentials. */
  credentialsFile?: string;
  storeDir?: string;
  decoders?: DecoderOptions;
  /** Limits every fetched NAR must keep (see NarLimits; maxEntries defaults to 500,000). */
  narLimits?: NarLimits;
  /**
   * zstd and uncompressed NARs whose FileSize + NarSize is at most this many bytes are received
   * whole into memory, then decoded and hashed on libuv's thread pool while the calling thread
   * writes the files (default 4 MiB; 0 streams every NAR).
   */
  wholeNarMaxBytes?: number;
  /** Memory that whole-NAR fetches of this client may hold at once; others stream meanwhile (default 128 MiB). */
  wholeNarBudgetBytes?: number;
  onProgress?: (e: ClientEvent) => void;
}

// fetchNar decodes zstd with decompress()'s output chunks (512 KiB; see decompress.ts), fed up to 1 MiB
// of input at a time (see fetch-nar.ts): on the *large* fixture's 127 MB NAR, 1 MiB chunks took 163 ms
// of CPU against ~350 ms with the 64 KiB chunks used before, which had been chosen to save ~20 MB of
// peak RSS on a 1.1 GB NAR; the decoded chunks are freed as soon as they are written
// (owned-chunks.ts), so their size costs little.

interface CacheState {
  config: CacheConfig;
  base: string;
  info: Promise<NixCacheInfo | undefined>;
}

const NARINFO_LIMIT = 1 << 20;
// 16 downloads of NARs of a few MB each fit; each holds its compressed file and its NAR until written.
const WHOLE_NAR_BUDGET_BYTES = 128 * 1024 * 1024;

/** Client for Nix HTTP binary caches: verified narinfo lookup, closures, and streaming NAR fetch + unpack. */
export class BinaryCacheClient {
  readonly #opts: BinaryCacheClientOptions;
  readonly #decoders: DecoderOptions;
  readonly #whole: WholeNarBudget | undefined;
  readonly #slots: DecoderSlots;
  readonly #agent: Agent;
  readonly #dispatcher: Dispatcher;
  readonly #keys: PublicKey[];
  readonly #policy: RetryPolicy;
  readonly #narDeadline: DeadlinePolicy;
  readonly #narinfoDeadlineMs: number;
  readonly #storeDir: string;
  readonly #positive = new Map<string, Promise<FoundNarinfo>>();
  readonly #negative = new Map<string, number>();
  #credentials: Promise<CredentialsTable> | undefined;
  #caches: Promise<CacheState[]> | undefined;

  constructor(opts: BinaryCacheClientOptions) {
    this.#opts = opts;
    this.#decoders = { ...opts.decoders };
    const processes = this.#decoders.processes ?? availableParallelism();
    if (!Number.isSafeInteger(processes) || processes < 1) {
      throw new ClientOptionsInvalidError(`BinaryCacheClient option decoders.processes is ${String(processes)}; it must be a whole number, 1 or more`);
    }
    this.#slots = new DecoderSlots(processes);
    const wholeMax = byteCount('wholeNarMaxBytes', opts.wholeNarMaxBytes, WHOLE_NAR_MAX_BYTES);
    const wholeBudget = byteCount('wholeNarBudgetBytes', opts.wholeNarBudgetBytes, WHOLE_NAR_BUDGET_BYTES);
    this.#whole = wholeMax > 0 ? new WholeNarBudget(wholeMax, wholeBudget) : undefined;
    this.#narDeadline = {
      minMs: positive('narDeadlineMinMs', opts.narDeadlineMinMs, NAR_DEADLINE.minMs),
      minBytesPerSecond: positive('narDeadlineMinBytesPerSecond', opts.narDeadlineMinBytesPerSecond, NAR_DEADLINE.minBytesPerSecond),
    };
    this.#narinfoDeadlineMs = positive('narinfoDeadlineMs', opts.narinfoDeadlineMs, NARINFO_DEADLINE_MS);
    this.#keys = opts.trustedKeys.map((k) => parsePublicKey(k));
    this.#storeDir = opts.storeDir ?? '/nix/store';
    const stall = opts.stallTimeoutMs ?? 30_000;
    this.#agent = new Agent({ connections: opts.concurrency ?? 16, headersTimeout: stall, bodyTimeout: stall, connectTimeout: Math.min(stall, 10_000) });
    // Caches may redirect NAR downloads to object storage; undici drops Authorization across origins.
    this.#dispatcher = this.#agent.compose(interceptors.redirect({ maxRedirections: 5 }));
    this.#policy = { retries: opts.retries ?? 4, baseDelayMs: opts.retryBaseDelayMs ?? 250, maxDelayMs: opts.retryMaxDelayMs ?? 10_000 };
  }

  async #headers(cache: CacheConfig): Promise<Record<string, string>> {
    let creds = cache.credentials;
    if (creds === undefined && this.#opts.credentialsFile !== undefined) {
      this.#credentials ??= loadCredentialsFile(this.#opts.credentialsFile);
      creds = credentialsFor(await this.#credentials, cache.url);
    }
    return creds === undefined ? {} : { authorization: authorizationHeader(creds) };
  }

  async #retrying<T>(url: string, signal: AbortSignal | undefined, fn: () => Promise<T>): Promise<T> {
    try {
      return await withRetries(this.#policy, fn, {
        signal,
        onRetry: (attempt, delayMs, err) => this.#opts.onProgress?.({ type: 'retry', url, attempt, delayMs, reason: (err as Error).message }),
      });
    } catch (err) {
      if (isTransient(err)) {
        throw new CacheNetworkError(`GET ${url} failed after ${this.#policy.retries + 1} attempts: ${(err as Error).message}; the cache is unreachable or overloaded`, { cause: err });
      }
      throw err;
    }
  }

  async #getText(cache: CacheConfig, url: string, signal: AbortSignal | undefined): Promise<string | undefined> {
    const headers = await this.#headers(cache);
    return withDeadline(this.#narinfoDeadlineMs, `GET ${url}`, signal, (bounded) =>
      this.#retrying(url, bounded, async () => {
        const body = await get(this.#dispatcher, url, headers, bounded);
        return body === undefined ? undefined : smallText(body, NARINFO_LIMIT, url);
      }),
    );
  }

  /** The caches in the order they are tried; those whose StoreDir differs from ours are left out. */
  async #ordered(): Promise<CacheState[]> {
    this.#caches ??= (async () => {
      const states = this.#opts.caches.map((config): CacheState => {
        const base = config.url.replace(/\/+$/, '');
        const info = this.#getText(config, `${base}/nix-cache-info`, undefined)
          .then((text) => (text === undefined ? undefined : parseNixCacheInfo(text)))
          .catch(() => undefined);
        return { config, base, info };
      });
      const infos = await Promise.all(states.map((s) => s.info));
      const ranked = states
        .map((s, i) => ({ s, i, info: infos[i] }))
        .filter(({ info }) => info === undefined || info.storeDir === this.#storeDir)
        .map(({ s, i, info }) => ({ s, i, priority: s.config.priority ?? info?.priority ?? 50 }));
      ranked.sort((a, b) => a.priority - b.priority || a.i - b.i);
      return ranked.map((r) => r.s);
    })();
    return this.#caches;
  }

  /** Look up and verify the narinfo of a store path in the caches, in priority order. Throws NarinfoNotFoundError when none has it. */
  async narinfo(storePath: string, opts: { signal?: AbortSignal } = {}): Promise<FoundNarinfo> {
    const sp = parseStorePath(storePath, this.#storeDir);
    const cached = this.#positive.get(sp.path);
    if (cached !== undefined) return cached;
    const until = this.#negative.get(sp.hash);
    if (until !== undefined && until > Date.now()) throw notFound(sp.path, true);
    const lookup = this.#lookup(sp.path, sp.hash, opts.signal);
    this.#positive.set(sp.path, lookup);
    lookup.catch(() => this.#positive.delete(sp.path));
    return lookup;
  }

  async #lookup(storePath: string, hash: string, signal: AbortSignal | undefined): Promise<FoundNarinfo> {
    let firstError: unknown;
    for (const cache of await this.#ordered()) {
      try {
        const text = await this.#getText(cache.config, `${cache.base}/${hash}.narinfo`, signal);
        if (text === undefined) continue;
        const narinfo = parseNarinfo(text, this.#storeDir);
        if (narinfo.storePath !== storePath) {
          throw new NarinfoInvalidError(`${cache.base}/${hash}.narinfo describes ${narinfo.storePath}, not ${storePath}`);
        }
        verifyNarinfoSignature(narinfo, this.#keys);
        return { narinfo, cache: cache.config };
      } catch (err) {
        if (signal?.aborted === true) throw err;
        firstError ??= err;
      }
    }
    if (firstError !== undefined) throw firstError;
    this.#negative.set(hash, Date.now() + (this.#opts.negativeTtlMs ?? 60_000));
    throw notFound(storePath, false);
  }

  /** The transitive closure of `storePaths` via References, with lookups running concurrently; keyed by full store path. */
  async closure(storePaths: string[], opts: { signal?: AbortSignal; concurrency?: number } = {}): Promise<Map<string, FoundNarinfo>> {
    const result = new Map<string, FoundNarinfo>();
    const seen = new Set<string>();
    const queue: string[] = [];
    for (const p of storePaths) {
      const path = parseStorePath(p, this.#storeDir).path;
      if (!seen.has(path)) {
        seen.add(path);
        queue.push(path);
      }
    }
    const workers = Math.max(1, opts.concurrency ?? this.#opts.concurrency ?? 16);
    let active = 0;
    await new Promise<void>((resolve, reject) => {
      let failed = false;
      const pump = (): void => {
        if (failed) return;
        if (queue.length === 0 && active === 0) return resolve();
        while (active < workers && queue.length > 0) {
          const path = queue.shift()!;
          active++;
          this.narinfo(path, opts).then(
            (found) => {
              active--;
              result.set(path, found);
              for (const ref of found.narinfo.references) {
                const full = parseStorePathBase(ref, this.#storeDir).path;
                if (!seen.has(full)) {
                  seen.add(full);
                  queue.push(full);
                }
              }
              pump();
            },
            (err: unknown) => {
              failed = true;
              reject(err);
            },
          );
        }
      };
      pump();
    });
    return new Map([...result.entries()].sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0)));
  }

  /**
   * Download, decompress and unpack a NAR into `dest` (which must not exist), verifying FileSize/FileHash when
   * present and NarSize/NarHash always. Transient failures restart the download; on any failure `dest` is removed.
   */
  async fetchNar(
    found: FoundNarinfo,
    dest: string,
    opts: { signal?: AbortSignal; onProgress?: (e: ClientEvent) => void } = {},
  ): Promise<{ narHash: string; narSize: number; fileSize: number }> {
    // Checked before anything is sent: the compression and the URL are not covered by the signature.
    checkCompression(found.narinfo);
    const url = narUrl(found.narinfo, found.cache.url);
    // One synchronous lstat: a promise round trip per NAR cost ~0.25 ms of this thread each (--cpu-prof).
    let exists: boolean;
    try {
      exists = lstatSync(dest, { throwIfNoEntry: false }) !== undefined;
    } catch {
      exists = false; // unreadable parent and the like: the unpack reports it, with its code
    }
    if (exists) throw new NarDestinationError(`fetchNar destination ${dest} already exists; pass a fresh path`);
    const headers = await this.#headers(found.cache);
    const onProgress = (e: ClientEvent): void => {
      opts.onProgress?.(e);
      this.#opts.onProgress?.(e);
    };
    const narinfo = found.narinfo;
    const ms = deadlineMs(narinfo.fileSize ?? narinfo.narSize, this.#narDeadline);
    // A NAR decoded by a process waits for one of the client's decoder slots before its download
    // starts (so a paused download never meets the stall timeout) and outside its deadline.
    let release: (() => void) | undefined;
    try {
      if (takesDecoderSlot(narinfo.compression, this.#decoders, narinfo.narSize)) release = await this.#slots.acquire(narinfo.narSize, opts.signal);
      return await withDeadline(ms, `the NAR of ${narinfo.storePath} (${url})`, opts.signal, (signal) =>
        this.#retrying(url, signal, () =>
          fetchNarOnce({ dispatcher: this.#dispatcher, url, headers, narinfo, dest, signal, decoders: this.#decoders, whole: this.#whole, limits: this.#opts.narLimits ?? {}, onProgress }),
        ),
      );
    } catch (err) {
      await removeTree(dest).catch(() => undefined);
      throw err;
    } finally {
      release?.();
    }
  }

  /** Whether fetching this NAR decodes it on the calling thread (xz in WASM; see DecoderOptions), rather than on libuv's pool or in a process. */
  decodesOnCallingThread(narinfo: Narinfo): boolean {
    return decodesOnCallingThread(narinfo.compression, this.#decoders, narinfo.narSize);
  }

  /** Close pooled connections. */
  async close(): Promise<void> {
    await this.#agent.close();
  }
}

/** A byte-count option: a non-negative safe integer (a NaN or negative budget would lift the memory bound). */
function byteCount(name: string, value: number | undefined, fallback: number): number {
  if (value === undefined) return fallback;
  if (!Number.isSafeInteger(value) || value < 0) {
    throw new ClientOptionsInvalidError(`BinaryCacheClient option ${name} is ${String(value)}; it must be a whole number of bytes, 0 or more`);
  }
  return value;
}

/** A duration or rate option: a finite number above 0. */
function positive(name: string, value: number | undefined, fallback: number): number {
  if (value === undefined) return fallback;
  if (!Number.isFinite(value) || value <= 0) {
    throw new ClientOptionsInvalidError(`BinaryCacheClient option ${name} is ${String(value)}; it must be a number above 0`);
  }
  return value;
}

function notFound(storePath: string, remembered: boolean): NarError {
  return new NarinfoNotFoundError(
    `no configured cache has a narinfo for ${storePath}${remembered ? ' (remembered from a recent lookup)' : ''}; check the caches or build and push the path`,
  );
}
