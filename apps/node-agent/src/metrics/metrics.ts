import { Counter, Gauge, Histogram, Registry } from 'prom-client';
import type { Phase, RealiseOutcome } from '../realise/types.ts';

/** The agent's Prometheus metrics, on their own registry (nothing global). */
export interface AgentMetrics {
  registry: Registry;
  realisePhaseSeconds: Histogram<'phase'>;
  realiseSeconds: Histogram<'origin' | 'result'>;
  fetchedBytes: Counter<'cache'>;
  paths: Counter<'result'>;
  storeBytes: Gauge;
  gcFreedBytes: Counter;
  gcRuns: Counter<'result'>;
  errors: Counter<'code'>;
  inFlight: Gauge;
  podsWatched: Gauge;
  /** runc front hand-offs to the patch service, by subcommand and outcome (ok, fail, timeout, dropped). */
  patchRequests: Counter<'subcommand' | 'outcome'>;
  /** GC passes that stopped with an error, by code (e.g. FLOXK8S_STORE_GC_ROOT_UNREADABLE: nothing was deleted). */
  gcFailures: Counter<'code'>;
  /** Failures of background work (timers, event handlers, server sockets), by task and code: logged, counted, survived. */
  taskErrors: Counter<'task' | 'code'>;
  /** Realises running with no caller, within their grace period. */
  realiseOrphaned: Gauge;
  /** Grace-period events: orphaned, rejoined, completed, failed, expired. */
  realiseGraceEvents: Counter<'event'>;
  /** Running flox containers whose GC roots held at the last GC pass. */
  containerRoots: Gauge;
  /** Container roots released because their containers were deleted (or of a previous boot). */
  containerRootsReleased: Counter;
  /** Mounted store views: mounted, failed, evicted, no-room (the mount budget held by views in use). */
  storeViewEvents: Counter<'event'>;
  /** Record one finished realise: phase durations, bytes per cache, paths hit vs fetched. */
  recordOutcome(outcome: RealiseOutcome, origin: 'prefetch' | 'socket', elapsedMs: number): void;
  recordPhase(phase: Phase, ms: number): void;
}

const durationBuckets = [0.01, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60, 120, 300, 600];

export function createMetrics(): AgentMetrics {
  const registry = new Registry();
  const realisePhaseSeconds = new Histogram({
    name: 'flox_agent_realise_phase_seconds',
    help: 'Time spent per realise phase (resolve, fetch, verify, unpack, profile).',
    labelNames: ['phase'] as const,
    buckets: durationBuckets,
    registers: [registry],
  });
  const realiseSeconds = new Histogram({
    name: 'flox_agent_realise_seconds',
    help: 'Wall time of a whole realise, by origin (prefetch, socket) and result (ok, error).',
    labelNames: ['origin', 'result'] as const,
    buckets: durationBuckets,
    registers: [registry],
  });
  const fetchedBytes = new Counter({
    name: 'flox_agent_fetched_bytes_total',
    help: 'Compressed bytes downloaded from binary caches, per cache URL.',
    labelNames: ['cache'] as const,
    registers: [registry],
  });
  const paths = new Counter({
    name: 'flox_agent_store_paths_total',
    help: 'Store paths needed by realises: hit (already in the store) or fetched.',
    labelNames: ['result'] as const,
    registers: [registry],
  });
  const storeBytes = new Gauge({ name: 'flox_agent_store_bytes', help: 'Bytes used by the node store.', registers: [registry] });
  const gcFreedBytes = new Counter({ name: 'flox_agent_gc_freed_bytes_total', help: 'Bytes freed by garbage collection.', registers: [registry] });
  const gcRuns = new Counter({ name: 'flox_agent_gc_runs_total', help: 'Garbage collection runs, by result.', labelNames: ['result'] as const, registers: [registry] });
  const errors = new Counter({ name: 'flox_agent_errors_total', help: 'Errors by flox-k8s error code.', labelNames: ['code'] as const, registers: [registry] });
  const inFlight = new Gauge({ name: 'flox_agent_realise_in_flight', help: 'Distinct realises running now.', registers: [registry] });
  const podsWatched = new Gauge({ name: 'flox_agent_pods_watched', help: 'Pods with runtimeClassName flox bound to this node.', registers: [registry] });
  const patchRequests = new Counter({
    name: 'flox_agent_patch_requests_total',
    help: 'runc create/exec hand-offs served by the patch service, by subcommand and outcome (ok, fail, timeout, dropped).',
    labelNames: ['subcommand', 'outcome'] as const,
    registers: [registry],
  });

  const gcFailures = new Counter({
    name: 'flox_agent_gc_failures_total',
    help: 'Garbage collections that stopped with an error, by error code (an unreadable root stops GC before anything is deleted).',
    labelNames: ['code'] as const,
    registers: [registry],
  });
  const taskErrors = new Counter({
    name: 'flox_agent_task_errors_total',
    help: 'Failures of background work (lease renewal, GC, pre-warm, pod events, patch requests, server sockets), by task and error code.',
    labelNames: ['task', 'code'] as const,
    registers: [registry],
  });
  const realiseOrphaned = new Gauge({ name: 'flox_agent_realise_orphaned', help: 'Realises running with no caller, within their grace period.', registers: [registry] });
  const realiseGraceEvents = new Counter({
    name: 'flox_agent_realise_grace_events_total',
    help: 'Realises whose last caller left: orphaned (kept going), rejoined (a caller came back), completed or failed with nobody waiting, expired (cancelled after the grace period).',
    labelNames: ['event'] as const,
    registers: [registry],
  });

  const containerRoots = new Gauge({ name: 'flox_agent_container_roots', help: 'Running flox containers whose GC roots held at the last GC pass.', registers: [registry] });
  const containerRootsReleased = new Counter({
    name: 'flox_agent_container_roots_released_total',
    help: 'GC roots of flox containers released because runc deleted the container (or of a previous boot).',
    registers: [registry],
  });

  const storeViewEvents = new Counter({
    name: 'flox_agent_store_view_events_total',
    help: 'Store views of large closures: mounted on the host, failed to mount, evicted (mount budget), or not mounted for want of room.',
    labelNames: ['event'] as const,
    registers: [registry],
  });

  const recordPhase = (phase: Phase, ms: number): void => realisePhaseSeconds.observe({ phase }, ms / 1000);
  return {
    registry,
    realisePhaseSeconds,
    realiseSeconds,
    fetchedBytes,
    paths,
    storeBytes,
    gcFreedBytes,
    gcRuns,
    errors,
    inFlight,
    podsWatched,
    patchRequests,
    gcFailures,
    taskErrors,
    realiseOrphaned,
    realiseGraceEvents,
    containerRoots,
    containerRootsReleased,
    storeViewEvents,
    recordPhase,
    recordOutcome(outcome, origin, elapsedMs) {
      for (const [phase, ms] of Object.entries(outcome.durations)) recordPhase(phase as Phase, ms);
      realiseSeconds.observe({ origin, result: 'ok' }, elapsedMs / 1000);
      const byCache = Object.entries(outcome.bytesByCache);
      if (byCache.length === 0 && outcome.bytesDownloaded > 0) fetchedBytes.inc({ cache: 'unknown' }, outcome.bytesDownloaded);
      for (const [cache, bytes] of byCache) fetchedBytes.inc({ cache }, bytes);
      // GC passes set the exact figure; in between, grow it by what realises add.
      storeBytes.inc(outcome.narBytes);
      paths.inc({ result: 'hit' }, outcome.present.length);
      paths.inc({ result: 'fetched' }, outcome.fetched.length);
    },
  };
}
