import { lstatSync, mkdtempSync, renameSync, rmdirSync } from 'node:fs';
import { join } from 'node:path';
import { BinaryCacheClient, removeTree, type CacheConfig, type FoundNarinfo } from '@flox-k8s/nar';
import type { NarFetcher } from './fetch-pool.ts';
import { STORE_DECODERS } from './fetch-protocol.ts';
import { StoreAbortedError, StoreDiskFullError, StoreError, StoreFetchError, StoreWriteError, errnoIn, isDiskFull, writeFailure } from './errors.ts';
import { errnoCode, fsyncDir, fsyncTree } from './fs-util.ts';
import type { SyncBarrier } from './sync-barrier.ts';
import { lock, unlock } from './file-lock.ts';
import { untilAborted, type PhaseClock, type Semaphore, type RealisePhase } from './phases.ts';
import { rootTypeOf } from './registry.ts';
import { ownerTag } from './process-owner.ts';
import type { PathRegistry } from './registry.ts';
import type { SingleFlight } from './single-flight.ts';
import type { StoreLayout } from './layout.ts';

/** Progress of a `realise` call. */
export type RealiseProgress =
  | { type: 'resolved'; closure: number; missing: number; narBytes: number }
  | { type: 'fetch-start'; storePath: string; narSize: number }
  | { type: 'fetch-progress'; storePath: string; bytesIn: number; bytesOut: number; narSize: number }
  | { type: 'waiting'; storePath: string }
  | { type: 'fetched'; storePath: string; narSize: number; fileSize: number }
  | { type: 'present'; storePath: string }
  | { type: 'registered'; storePath: string };

/**
 * Concurrent downloads by default. On a disk-backed store a fetch spends much
 * of its time waiting on file creation and writes, so more than the core
 * count in flight pays (8 → 16 measured ~1.4x faster on two cores), and fewer
 * were ~10 % slower against a cache modelling a WAN. xz and bzip2 decoders are
 * bounded apart from this, one per core (@flox-k8s/nar's decoder processes).
 */
export const DEFAULT_CONCURRENCY = 16;

/** Fetch worker threads by default (fewer on a machine with fewer CPUs); measured in bench/cold-realise.ts. */
export const DEFAULT_FETCH_WORKERS: number = 2;

/** Options of `store.realise`. */
export interface RealiseOptions {
  caches: CacheConfig[];
  trustedKeys: string[];
  /** Concurrent downloads (default 16). */
  concurrency?: number | undefined;
  signal?: AbortSignal | undefined;
  onProgress?: ((event: RealiseProgress) => void) | undefined;
  /** Take (or renew) this lease on the requested paths before returning, so no GC can slip in between. */
  lease?: { id: string; ttlMs: number } | undefined;
  /**
   * A long-lived client to reuse for narinfos and NARs fetched on the calling thread (its
   * caches/keys win over `caches`/`trustedKeys`). When enough would be decoded on the calling
   * thread that fetch workers start by default, the workers use `caches`/`trustedKeys`: pass the
   * client's own.
   */
  client?: BinaryCacheClient | undefined;
  /**
   * Worker threads that download, verify and unpack NARs; 0 = on the calling
   * thread. Default: 2 (fewer on a 1-CPU machine), and only when at least
   * `FETCH_POOL_MIN_BYTES` of missing NAR would be decoded on the calling thread
   * (xz in WASM: by default NARs of up to 256 KiB, or every xz NAR with `decoders:
   * { xz: 'wasm' }`). zstd is decoded on libuv's thread pool, larger xz and bzip2 by
   * decoder processes (@flox-k8s/nar); starting threads costs ~50 ms and memory.
   */
  fetchWorkers?: number | undefined;
}

/** What `store.realise` did. */
export interface RealiseResult {
  /** Sorted full closure of the requested paths. */
  closure: string[];
  /** Paths this call downloaded. */
  fetched: string[];
  /** Paths of the closure that were already valid or that another caller/process realised. */
  present: string[];
  /** Compressed bytes downloaded (FileSize). */
  bytesDownloaded: number;
  /** Uncompressed NAR bytes of the fetched paths. */
  narBytes: number;
  /**
   * Wall-clock ms during which any path was in the phase: `resolve` (closure
   * and narinfos), `fetch` (download, decompression, NAR parsing and hashing,
   * streamed in one pass), `verify` (fsync of the unpacked tree, with
   * `fsync` on), `unpack` (metadata + rename into the store).
   */
  durations: Record<RealisePhase, number>;
}

/** What one path's job ended with. */
export type PathOutcome = { kind: 'fetched'; narSize: number; fileSize: number } | { kind: 'present' };

/** Everything a path job needs from its store. */
export interface RealiseContext {
  layout: StoreLayout;
  registry: PathRegistry;
  jobs: SingleFlight<PathOutcome>;
  /** fsync what must survive power loss (true also with `syncfs`, for everything but unpacked paths). */
  fsync: boolean;
  /** Unpacked paths are made durable by one syncfs per group (SyncBarrier), not an fsync per file. */
  syncfs: boolean;
}

/** Turns any failure into the store's coded error. */
export function storeFailure(storePath: string, err: unknown, signal?: AbortSignal): Error {
  if (err instanceof StoreAbortedError) return err;
  if (signal?.aborted) return new StoreAbortedError(`realise of ${storePath} aborted`, { cause: err });
  if (err instanceof StoreError) return err;
  if (isDiskFull(err)) {
    return new StoreDiskFullError(
      `no space left while realising ${storePath}; the partial download was removed. Free space or raise the GC watermarks`,
      { cause: err },
    );
  }
  const code = (err as { code?: unknown } | null)?.code;
  // Unpacking into the store's temp dir failed (EIO, EROFS, …): the store's write error, with the errno.
  const errno = code === 'FLOXK8S_NAR_DESTINATION' ? errnoIn((err as { cause?: unknown }).cause) : undefined;
  if (errno !== undefined) {
    return new StoreWriteError(`writing ${storePath} into the store failed with ${errno}: ${(err as Error).message}; the partial download was removed`, {
      cause: err,
      errno,
    });
  }
  // Coded errors of our other packages (narinfo not found, hash mismatch, bad signature) keep their code.
  if (typeof code === 'string' && code.startsWith('FLOXK8S_') && err instanceof Error) return err;
  return new StoreFetchError(
    `could not realise ${storePath}${typeof code === 'string' ? ` (${code})` : ''}: ${(err as Error)?.message ?? String(err)}`,
    { cause: err },
  );
}

/** Inputs of one path job. */
export interface PathJobInput {
  storePath: string;
  base: string;
  found: FoundNarinfo;
  /** Full store paths this path references (self excluded). */
  dependencies: string[];
  /** The job of a dependency this process realises, if any (undefined: already valid). */
  dependencyJob: (storePath: string) => Promise<PathOutcome> | undefined;
  fetcher: NarFetcher;
  downloads: Semaphore;
  /** With `syncfs`: the realise's group commit (see SyncBarrier). */
  barrier: SyncBarrier | undefined;
  clock: PhaseClock;
  onProgress: ((event: RealiseProgress) => void) | undefined;
}

/**
 * Realises one path: cross-process lock, download into a private temp dir,
 * wait for its dependencies, then metadata + rename. Holding the lock while
 * waiting cannot deadlock: references form a DAG.
 */
export async function realisePath(ctx: RealiseContext, job: PathJobInput, signal: AbortSignal): Promise<PathOutcome> {
  const { registry, layout } = ctx;
  const lockFile = join(layout.locks, `${job.base}.lock`);
  let waitingReported = false;
  const locked = await lock(lockFile, {
    signal,
    what: `the lock of ${job.storePath}`,
    satisfied: () => {
      if (registry.valid(job.base)) return true;
      if (!waitingReported) {
        waitingReported = true;
        job.onProgress?.({ type: 'waiting', storePath: job.storePath });
      }
      return false;
    },
  });
  if (!locked) {
    job.onProgress?.({ type: 'present', storePath: job.storePath }); // another process realised it
    return { kind: 'present' };
  }
  let tmpDir: string | undefined;
  const barrier = job.barrier;
  let holding = false;
  // syncfs: recorded (with the tree, before the flush) but not yet renamed into the store.
  let recordedOnly = false;
  try {
    if (registry.valid(job.base)) {
      job.onProgress?.({ type: 'present', storePath: job.storePath });
      return { kind: 'present' };
    }
    barrier?.hold();
    holding = barrier !== undefined;
    try {
      tmpDir = mkdtempSync(join(layout.tmp, `${ownerTag()}-`));
    } catch (err) {
      throw writeFailure(err, `creating the download directory of ${job.storePath}`, layout.tmp);
    }
    const dest = join(tmpDir, job.base);
    const fetched = await job.downloads.run(
      () =>
        job.clock.time('fetch', async () => {
          job.onProgress?.({ type: 'fetch-start', storePath: job.storePath, narSize: job.found.narinfo.narSize });
          return job.fetcher.fetchNar(job.found, dest, signal, (bytesIn, bytesOut, narSize) =>
            job.onProgress?.({ type: 'fetch-progress', storePath: job.storePath, bytesIn, bytesOut, narSize }),
          );
        }),
      signal,
    );
    job.onProgress?.({ type: 'fetched', storePath: job.storePath, narSize: fetched.narSize, fileSize: fetched.fileSize });
    const info = {
      storePath: job.storePath,
      narHash: fetched.narHash,
      narSize: fetched.narSize,
      references: [...job.dependencies, ...(selfReferences(job) ? [job.storePath] : [])].sort(),
      deriver: job.found.narinfo.deriver,
      ca: job.found.narinfo.ca,
      rootType: rootTypeOf(lstatSync(dest)),
    };
    if (barrier !== undefined) {
      // The record goes to disk in the same flush as the tree, before the rename: a path in the
      // store has its record after a crash too. Until the rename it is an orphan record that only
      // the holder of the path's lock (us) may remove.
      registry.record(job.base, { ...info, registrationTime: Date.now() }, false);
      recordedOnly = true;
      holding = false;
      const flushed = barrier.arrive();
      flushed.catch(() => undefined); // observed below, unless the realise is aborted first
      await job.clock.time('verify', () => untilAborted(flushed, signal, `${job.storePath} waited for the store's file system to be synced`)).catch((err: unknown) => {
        throw writeFailure(err, `syncing the store's file system after unpacking ${job.storePath}`, layout.store);
      });
    } else if (ctx.fsync) {
      await job.clock.time('verify', () => fsyncTree(dest)).catch((err: unknown) => {
        throw writeFailure(err, `syncing ${job.storePath} to disk`, dest);
      });
    }
    // A path may only become visible once everything it references is valid.
    for (const dep of job.dependencies) {
      const pending = job.dependencyJob(dep);
      if (pending) await untilAborted(pending, signal, `${job.storePath} waited for its reference ${dep}`);
    }
    if (signal.aborted) throw new StoreAbortedError(`realise of ${job.storePath} aborted`, { cause: signal.reason });
    job.clock.enter('unpack');
    try {
      if (!recordedOnly) registry.record(job.base, { ...info, registrationTime: Date.now() }, ctx.fsync);
      try {
        renameSync(dest, registry.hostPath(job.base));
      } catch (err) {
        // Only possible if a lock was broken wrongly: someone else committed it first; theirs is as good.
        if (errnoCode(err) !== 'ENOTEMPTY' && errnoCode(err) !== 'EEXIST') {
          recordedOnly = false;
          try {
            registry.forget(job.base); // no record may outlive a path that never became visible
          } catch {
            // the rename's error is the one to report; Store.open removes orphan records
          }
          throw writeFailure(err, `renaming ${job.storePath} into the store`, dest);
        }
      }
      // With syncfs the rename is made durable by the realise's last flush.
      recordedOnly = false;
      if (ctx.fsync && barrier === undefined) {
        try {
          fsyncDir(layout.store);
        } catch (err) {
          throw writeFailure(err, `syncing the store directory after adding ${job.storePath} (the path is in place and complete)`, layout.store);
        }
      }
    } finally {
      job.clock.leave('unpack');
    }
    job.onProgress?.({ type: 'registered', storePath: job.storePath });
    return { kind: 'fetched', narSize: fetched.narSize, fileSize: fetched.fileSize };
  } finally {
    if (holding) barrier?.release();
    if (recordedOnly) {
      try {
        registry.forget(job.base); // never renamed into the store (a failed flush, a reference, an abort)
      } catch {
        // Store.open removes orphan records
      }
    }
    if (tmpDir !== undefined) {
      try {
        rmdirSync(tmpDir);
      } catch {
        // Bounded in memory however many entries a rejected NAR left (@flox-k8s/nar's removeTree).
        await removeTree(tmpDir).catch(() => undefined);
      }
    }
    unlock(lockFile);
  }
}

function selfReferences(job: PathJobInput): boolean {
  const selfBase = job.base;
  return job.found.narinfo.references.includes(selfBase);
}

/** Creates the client for a realise call unless the caller brought one. */
export function clientFor(opts: RealiseOptions, storeDir: string): { client: BinaryCacheClient; owned: boolean } {
  if (opts.client) return { client: opts.client, owned: false };
  return {
    client: new BinaryCacheClient({
      caches: opts.caches,
      trustedKeys: opts.trustedKeys,
      concurrency: opts.concurrency ?? DEFAULT_CONCURRENCY,
      storeDir,
      decoders: STORE_DECODERS,
    }),
    owned: true,
  };
}
