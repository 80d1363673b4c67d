import type { BinaryCacheClient, FoundNarinfo } from '@flox-k8s/nar';
import { availableParallelism } from 'node:os';
import { ClosureIndex } from './closure-index.ts';
import { FetchPool, fetchWorkerModule, inProcessFetcher, type NarFetcher } from './fetch-pool.ts';
import { STORE_DECODERS } from './fetch-protocol.ts';
import { storeBase } from './layout.ts';
import { findCycle } from './cycles.ts';
import { StoreAbortedError, StoreFetchError, StoreReferenceCycleError, writeFailure } from './errors.ts';
import { SyncBarrier, syncFileSystem } from './sync-barrier.ts';
import { PhaseClock, Semaphore } from './phases.ts';
import {
  DEFAULT_CONCURRENCY,
  DEFAULT_FETCH_WORKERS,
  clientFor,
  realisePath,
  storeFailure,
  type PathOutcome,
  type RealiseContext,
  type RealiseOptions,
  type RealiseResult,
} from './realise.ts';
import { resolveMissing } from './resolve.ts';
import { InflightRoot } from './roots.ts';
import type { SharedJob } from './single-flight.ts';

/** What `realiseClosure` needs from its store besides the per-path context. */
export interface ClosureContext extends RealiseContext {
  closures: ClosureIndex;
  /** Resolves once no GC (in any process) may have missed this realise's in-flight root. */
  waitForGc: (signal: AbortSignal | undefined) => Promise<void>;
  lease: (id: string, roots: string[], ttlMs: number) => void;
  /** The fetch worker module (`Store.open`'s `fetchWorker`; default: the store's own). */
  fetchWorker: URL | undefined;
}

// A GC between two lookups can take a path we counted as present; after this
// many rounds the closure is declared unstable rather than chased forever.
const MAX_RESOLVE_ROUNDS = 4;

function warmResult(
  ctx: ClosureContext,
  closure: string[],
  requested: string[],
  indexKey: string,
  clock: PhaseClock,
  options: RealiseOptions,
): RealiseResult {
  ctx.closures.touch(indexKey);
  if (options.lease) ctx.lease(options.lease.id, requested, options.lease.ttlMs);
  options.onProgress?.({ type: 'resolved', closure: closure.length, missing: 0, narBytes: 0 });
  return { closure, fetched: [], present: closure, bytesDownloaded: 0, narBytes: 0, durations: clock.durations() };
}

function base(ctx: ClosureContext, storePath: string): string {
  return storePath.slice(ctx.layout.storeDir.length + 1);
}

/**
 * The store's realise: an in-flight root, the closure (from the closure index
 * when warm, else local records plus narinfos for what is missing), then one
 * shared job per missing path (see `realisePath`).
 */
export async function realiseClosure(ctx: ClosureContext, storePaths: string[], options: RealiseOptions): Promise<RealiseResult> {
  const requested = [...new Set(storePaths)];
  for (const p of requested) storeBase(p, ctx.layout.storeDir);
  const signal = options.signal;
  if (signal?.aborted) throw new StoreAbortedError('realise aborted before it started', { cause: signal.reason });
  const clock = new PhaseClock();
  const root = new InflightRoot(ctx.layout);
  const found = new Map<string, FoundNarinfo>();
  let client: ReturnType<typeof clientFor> | undefined;
  const jobsUsingClient: Array<Promise<unknown>> = [];
  try {
    clock.enter('resolve');
    let closure: string[] | undefined;
    const indexKey = ClosureIndex.key(requested);
    let cached: string[] | undefined;
    try {
      root.set(requested);
      await ctx.waitForGc(signal);
      cached = ctx.closures.lookup(indexKey, ctx.layout.storeDir.length);
      for (let round = 0; cached === undefined; round++) {
        const step = walk(ctx, requested, found);
        if (step.unknown.length === 0) {
          closure = step.closure;
          break;
        }
        if (round >= MAX_RESOLVE_ROUNDS) {
          throw new StoreFetchError(`closure of ${requested.join(', ')} kept changing under a concurrent GC; retry`);
        }
        client ??= clientFor(options, ctx.layout.storeDir);
        const more = await resolveMissing(
          client.client,
          step.unknown,
          (p) => ctx.registry.valid(base(ctx, p)) !== undefined,
          ctx.layout.storeDir,
          options.concurrency ?? DEFAULT_CONCURRENCY,
          signal,
        );
        for (const [path, entry] of more) found.set(path, entry);
        root.set([...step.closure, ...more.keys()]);
        await ctx.waitForGc(signal);
      }
    } catch (err) {
      clock.leave('resolve');
      throw storeFailure(requested.join(', '), err, signal);
    }
    clock.leave('resolve');
    if (cached !== undefined) return warmResult(ctx, cached, requested, indexKey, clock, options);
    if (closure === undefined) throw new StoreFetchError('unreachable: no closure computed');

    const missing = closure.filter((p) => !ctx.registry.valid(base(ctx, p)));
    const narBytes = missing.reduce((sum, p) => sum + (found.get(p)?.narinfo.narSize ?? 0), 0);
    options.onProgress?.({ type: 'resolved', closure: closure.length, missing: missing.length, narBytes });
    let outcomes = new Map<string, PathOutcome>();
    if (missing.length > 0) {
      client ??= clientFor(options, ctx.layout.storeDir);
      outcomes = await fetchAll(ctx, missing, found, options, clock, client.client, jobsUsingClient);
    }

    // Writing the index entry also records this use of the closure (its mtime).
    ctx.closures.write(indexKey, requested, closure);
    if (options.lease) ctx.lease(options.lease.id, requested, options.lease.ttlMs);
    const fetched: string[] = [];
    let bytesDownloaded = 0;
    let fetchedNarBytes = 0;
    for (const [path, outcome] of outcomes) {
      if (outcome.kind !== 'fetched') continue;
      fetched.push(path);
      bytesDownloaded += outcome.fileSize;
      fetchedNarBytes += outcome.narSize;
    }
    fetched.sort();
    const fetchedSet = new Set(fetched);
    return {
      closure,
      fetched,
      present: closure.filter((p) => !fetchedSet.has(p)),
      bytesDownloaded,
      narBytes: fetchedNarBytes,
      durations: clock.durations(),
    };
  } finally {
    root.remove();
    if (client?.owned) {
      // A job this call started may still serve another caller after this one
      // gave up: the client closes once every such job has settled.
      const owned = client.client;
      void Promise.allSettled(jobsUsingClient).then(() => owned.close());
    }
  }
}

async function fetchAll(
  ctx: ClosureContext,
  missing: string[],
  found: Map<string, FoundNarinfo>,
  options: RealiseOptions,
  clock: PhaseClock,
  client: BinaryCacheClient,
  jobsUsingClient: Array<Promise<unknown>>,
): Promise<Map<string, PathOutcome>> {
  const prefix = `${ctx.layout.storeDir}/`;
  const dependenciesOf = new Map<string, string[]>();
  for (const path of missing) {
    const pathBase = base(ctx, path);
    const refs = (found.get(path) as FoundNarinfo).narinfo.references;
    dependenciesOf.set(path, refs.filter((r) => r !== pathBase).map((r) => `${prefix}${r}`));
  }
  // Each path becomes visible only after its references: a cycle would make their jobs wait on each other forever.
  const missingSet = new Set(missing);
  const cycle = findCycle(missing, (p) => (dependenciesOf.get(p) ?? []).filter((d) => missingSet.has(d)));
  if (cycle !== undefined) {
    throw new StoreReferenceCycleError(
      `the narinfos of ${cycle.join(' -> ')} -> ${cycle[0]} reference each other in a cycle; Nix store paths may only reference themselves, so the cache serves inconsistent metadata`,
      cycle,
    );
  }
  const downloads = new Semaphore(options.concurrency ?? DEFAULT_CONCURRENCY);
  const barrier = ctx.syncfs ? new SyncBarrier(() => syncFileSystem(ctx.layout.store)) : undefined;
  const fetcher = fetcherFor(ctx, options, client, missing, found);
  const failFast = new AbortController();
  const signal = options.signal ? AbortSignal.any([options.signal, failFast.signal]) : failFast.signal;
  const jobs = new Map<string, SharedJob<PathOutcome>>();
  const jobFor = (path: string): SharedJob<PathOutcome> | undefined => jobs.get(path);
  for (const path of missing) {
    const entry = found.get(path) as FoundNarinfo;
    const pathBase = base(ctx, path);
    const dependencies = dependenciesOf.get(path) as string[];
    jobs.set(
      path,
      ctx.jobs.get(pathBase, (jobSignal) =>
        realisePath(
          ctx,
          {
            storePath: path,
            base: pathBase,
            found: entry,
            dependencies,
            dependencyJob: (dep) => {
              const job = jobFor(dep);
              if (job) return job.promise;
              if (ctx.registry.valid(base(ctx, dep))) return undefined;
              return Promise.reject(new StoreFetchError(`${path} references ${dep}, which is neither valid nor being realised`));
            },
            fetcher,
            downloads,
            barrier,
            clock,
            onProgress: options.onProgress,
          },
          jobSignal,
        ),
      ),
    );
  }
  for (const job of jobs.values()) jobsUsingClient.push(job.promise);
  // Like the client: the pool closes once every job that may still use it has settled.
  if (fetcher instanceof FetchPool) void Promise.allSettled([...jobs.values()].map((j) => j.promise)).then(() => fetcher.close());
  const settled = await Promise.allSettled(
    [...jobs.values()].map((job) =>
      job.join(signal).catch((err: unknown) => {
        failFast.abort(err);
        throw err;
      }),
    ),
  );
  // Jobs nobody waits for any more were cancelled: let them remove their temp files before reporting.
  await Promise.allSettled([...jobs.values()].filter((j) => j.abandoned).map((j) => j.promise));
  const outcomes = new Map<string, PathOutcome>();
  let firstError: unknown;
  let i = 0;
  for (const path of jobs.keys()) {
    const s = settled[i++] as PromiseSettledResult<PathOutcome>;
    if (s.status === 'fulfilled') outcomes.set(path, s.value);
    else if (firstError === undefined || (firstError instanceof StoreAbortedError && !(s.reason instanceof StoreAbortedError))) {
      firstError = storeFailure(path, s.reason, options.signal);
    }
  }
  if (firstError !== undefined) throw firstError;
  // syncfs: the records and renames of this realise's paths, written after its groups' flushes.
  const registered = [...outcomes.values()].filter((o) => o.kind === 'fetched').length;
  if (barrier !== undefined && registered > 0) {
    await clock.time('unpack', () => syncFileSystem(ctx.layout.store)).catch((err: unknown) => {
      throw writeFailure(err, `syncing the store's file system after registering ${registered} paths (they are in place and complete)`, ctx.layout.store);
    });
  }
  return outcomes;
}

/** When the NARs to decode on the calling thread (xz in WASM) total less than this, all are fetched on the calling thread: starting workers would cost more. */
export const FETCH_POOL_MIN_BYTES: number = 8 << 20;

function fetcherFor(
  ctx: ClosureContext,
  options: RealiseOptions,
  client: BinaryCacheClient,
  missing: string[],
  found: Map<string, FoundNarinfo>,
): NarFetcher | FetchPool {
  // With a client of the caller's (the node agent's), workers are started only for slow decodes
  // (below): xz decoded on this one thread was the agent's bottleneck on *large* (see README). They
  // build their own clients from `caches`/`trustedKeys`, which the caller passes along with it.
  if (options.fetchWorkers === 0 || (options.client !== undefined && options.fetchWorkers !== undefined)) return inProcessFetcher(client);
  // By default workers only pay when enough is decoded on this thread (xz in WASM); an explicit
  // count always uses them. zstd is decoded on libuv's thread pool whether fetched whole or
  // streamed, so the two cores are used without workers, which would only add their start-up, a
  // client (and its memory) each and more threads than cores (bench/cold-once.ts zstd: 0.87-0.90 s
  // in-process, 1.05-1.11 s with 2; bench/large-vs-nix.ts: the shim's fallback peaked at ~345 MB
  // with 2 workers on the large fixture's zstd cache against ~240 MB without).
  // xz NARs above the client's in-process bound are decoded by `xz -dc` processes (see
  // @flox-k8s/nar's DecoderOptions), off this thread as well: only the small ones decoded in WASM count.
  const bytes = missing.reduce((sum, p) => {
    const narinfo = found.get(p)?.narinfo;
    return narinfo === undefined || !client.decodesOnCallingThread(narinfo) ? sum : sum + narinfo.narSize;
  }, 0);
  if (options.fetchWorkers === undefined && bytes < FETCH_POOL_MIN_BYTES) return inProcessFetcher(client);
  const workers = options.fetchWorkers ?? Math.min(DEFAULT_FETCH_WORKERS, availableParallelism());
  return new FetchPool(
    { caches: options.caches, trustedKeys: options.trustedKeys, storeDir: ctx.layout.storeDir, concurrency: options.concurrency ?? DEFAULT_CONCURRENCY, decoders: STORE_DECODERS },
    workers,
    fetchWorkerModule(ctx.fetchWorker),
  );
}

/** Closure walk: valid paths via their metadata, others via fetched narinfos; `unknown` needs narinfos. */
function walk(ctx: ClosureContext, requested: readonly string[], found: Map<string, FoundNarinfo>): { closure: string[]; unknown: string[] } {
  const seen = new Set<string>();
  const unknown: string[] = [];
  const stack = [...requested];
  const prefix = `${ctx.layout.storeDir}/`;
  while (stack.length > 0) {
    const path = stack.pop() as string;
    if (seen.has(path)) continue;
    seen.add(path);
    const info = ctx.registry.valid(base(ctx, path));
    if (info) {
      for (const ref of info.references) if (!seen.has(ref)) stack.push(ref);
      continue;
    }
    const entry = found.get(path);
    if (entry) {
      for (const ref of entry.narinfo.references) if (!seen.has(`${prefix}${ref}`)) stack.push(`${prefix}${ref}`);
      continue;
    }
    unknown.push(path);
  }
  return { closure: [...seen].sort(), unknown };
}
