import { hostname } from 'node:os';
import { join } from 'node:path';
import { ENVIRONMENTS_PATH, STATUS_PATH } from '@flox-k8s/agent-protocol';
import type { ResolvedEnvironment } from '@flox-k8s/environments';
import { activateMode } from '@flox-k8s/lockfile';
import { cacheConfigs, storeFsyncOption } from '@flox-k8s/config';
import { listenPatchService, mutableRoot, sweepMutableScratch, ViewMounter, type Logger as InterposerLogger } from '@flox-k8s/interposer';
import { existsSync } from 'node:fs';
import { Store } from '@flox-k8s/store';
import { shimConfigOf, type AgentConfig } from './config.ts';
import { guarded, reportTaskError } from './background.ts';
import { codeLabel } from './errors.ts';
import { environmentRoutes } from './environments/http-routes.ts';
import { EnvironmentRegistry } from './environments/registry.ts';
import { EnvironmentViews } from './environments/views.ts';
import { startGcLoop } from './gc/gc-loop.ts';
import { type HostActions, type InstallOptions, installRuntime } from './install/host-install.ts';
import type { KubeApi } from '@flox-k8s/kube';
import type { Logger } from './log.ts';
import { listenObservability, Readiness, type ObservabilityServer } from './metrics/http-server.ts';
import { createMetrics, type AgentMetrics } from './metrics/metrics.ts';
import { registerBytesOutstanding, registerStoreViewMounts } from './metrics/progress-gauge.ts';
import { PodLeases } from './prefetch/leases.ts';
import { parsePrewarmList } from './prefetch/prewarm.ts';
import { Prefetcher } from './prefetch/prefetcher.ts';
import { environmentResolver } from './prefetch/resolver.ts';
import { RealiseCoordinator } from './realise/coordinator.ts';
import { RealiseProgress } from './realise/progress.ts';
import { recordGrace } from './realise/grace-report.ts';
import { listenRealiseSocket } from './realise/socket-server.ts';
import { storeRealiser } from './realise/store-realiser.ts';
import { GcHistory } from './status/gc-history.ts';
import { statusRoute } from './status/status-route.ts';
import { AGENT_VERSION } from './version.ts';

export const ENABLED_LABEL = 'flox.dev/enabled';

export interface AgentDeps {
  config: AgentConfig;
  nodeName: string;
  kube: KubeApi;
  log: Logger;
  /** Host install; absent when `agent.installer.enabled` is false. */
  install?: { options: InstallOptions; actions: HostActions };
  /** The store's NAR fetch worker module (`@flox-k8s/store`'s `fetchWorker`): the bundle's own file beside it. */
  fetchWorker?: URL;
}

export interface RunningAgent {
  metrics: AgentMetrics;
  readiness: Readiness;
  prefetcher: Prefetcher;
  coordinator: RealiseCoordinator;
  store: Store;
  observability: ObservabilityServer;
  stop(): Promise<void>;
}

/**
 * Start every part of the node agent: host install, store, realise socket, patch service, pod watch + prefetch,
 * GC, pre-warm, metrics; label the node once all of it is up.
 */
export async function startAgent(deps: AgentDeps): Promise<RunningAgent> {
  const { config, log, kube, nodeName } = deps;
  const startedAt = new Date();
  const settings = config.agent;
  const metrics = createMetrics();
  const readiness = new Readiness();
  readiness.set('install', deps.install === undefined);
  readiness.set('socket', false);
  readiness.set('patcher', false);
  readiness.set('watch', false);
  const sink = { metrics, log };
  const observability = await listenObservability({
    host: settings.metricsHost,
    port: settings.metricsPort,
    registry: metrics.registry,
    readiness,
    onError: (error) => reportTaskError(sink, 'metrics-server', error),
  });
  const stops: Array<() => Promise<void> | void> = [() => observability.close()];
  const stop = async (): Promise<void> => {
    for (const s of stops.reverse()) await Promise.resolve(s()).catch((error: unknown) => log.warn('stop step failed', { error }));
  };

  try {
    if (deps.install) {
      const result = await installRuntime(deps.install.options, deps.install.actions);
      log.info('runtime installed', { containerd: result.containerd.version, target: result.target.path, kind: result.target.kind, reason: result.target.reason, restarted: result.restarted });
      readiness.set('install', true);
    }

    const store = await Store.open(config.storeRoot, { fetchWorker: deps.fetchWorker, fsync: storeFsyncOption(config) });
    const realiser = storeRealiser({ store, caches: await cacheConfigs(config), trustedKeys: config.trustedKeys });
    stops.push(() => realiser.close());
    // Progress where operators look: a tally per flight, its log lines, the outstanding-bytes gauge, pod Events.
    const progressIntervalMs = settings.progressIntervalSeconds * 1000;
    const progress = new RealiseProgress({ intervalMs: progressIntervalMs, log: log.child({ component: 'realise' }) });
    registerBytesOutstanding(metrics.registry, () => progress.bytesOutstanding());
    const coordinator = new RealiseCoordinator(
      progress.track(realiser),
      (report) => {
        metrics.inFlight.set(coordinator.inFlight);
        if (report.outcome) metrics.recordOutcome(report.outcome, report.origin, report.elapsedMs);
        else {
          metrics.realiseSeconds.observe({ origin: report.origin, result: 'error' }, report.elapsedMs / 1000);
          metrics.errors.inc({ code: codeLabel(report.error) });
        }
      },
      { graceMs: settings.realiseGraceSeconds * 1000, onGrace: (event) => recordGrace(event, metrics, log, settings.realiseGraceSeconds) },
    );
    stops.push(() => coordinator.close());

    const socket = await listenRealiseSocket({
      socketPath: config.agentSocket,
      coordinator,
      onRequest: (r) => {
        metrics.inFlight.set(coordinator.inFlight);
        if (r.outcome === 'invalid' && r.code) metrics.errors.inc({ code: r.code });
        log.info('socket realise', r);
      },
      onError: (error) => reportTaskError(sink, 'realise-socket', error),
    });
    stops.push(() => socket.close());
    readiness.set('socket', true);

    // The runc front's create/exec, served warm (no Node start per container). Not fatal when it
    // cannot start: fronts then start their own Node per container; readiness shows `patcher` failed.
    const patchLog = log.child({ component: 'patch-service' });
    const patchLogger: InterposerLogger = { log: (level, msg, fields) => patchLog[level](msg, fields) };
    // Large closures' store views mounted once on the host, so their warm starts bind one tree.
    const storeViews = new ViewMounter({
      ...config.storeViewMounts,
      profilesDir: store.profilesDir,
      log: patchLogger,
      onEvent: (event) => metrics.storeViewEvents.inc({ event }),
    });
    registerStoreViewMounts(metrics.registry, () => storeViews.mounts);
    stops.push(() => storeViews.close());
    const patcher = await listenPatchService({
      dir: config.patchServiceDir,
      config: shimConfigOf(config),
      fetchWorker: deps.fetchWorker,
      storeViews,
      log: patchLogger,
      onRequest: (r) => {
        metrics.patchRequests.inc({ subcommand: r.subcommand ?? 'none', outcome: r.outcome });
        if (r.outcome === 'fail' || r.outcome === 'timeout') metrics.errors.inc({ code: r.reason ?? 'FLOXK8S_AGENT_UNKNOWN' });
      },
      onError: (error) => reportTaskError(sink, 'patch-request', error),
    }).catch((error: unknown) => {
      metrics.errors.inc({ code: codeLabel(error) });
      log.error('patch service failed to start; runc fronts fall back to a Node process per container', { code: codeLabel(error), error });
      return undefined;
    });
    if (patcher !== undefined) {
      stops.push(() => patcher.close());
      readiness.set('patcher', true);
    }

    // What GET /environments reports: each realised lockfile and the pods using it, kept across restarts.
    const registry = EnvironmentRegistry.open(join(settings.stateDir ?? join(config.storeRoot, 'node-agent'), 'environments'), settings.environments);
    if (registry.recovery.removed.length > 0) log.warn('environment registry: removed damaged or unfinished files', { files: registry.recovery.removed });
    const views = new EnvironmentViews({
      registry,
      store,
      node: nodeName,
      system: config.system,
      maxCached: settings.environments.maxEnvironments,
      onSkipped: (digest, error) => {
        metrics.errors.inc({ code: codeLabel(error) });
        log.warn('GET /environments left out an environment whose SBOM cannot be made', { digest, code: codeLabel(error), error });
      },
    });
    observability.mount(
      ENVIRONMENTS_PATH,
      environmentRoutes(views, (error) => {
        metrics.errors.inc({ code: codeLabel(error) });
        log.error('GET /environments failed', { code: codeLabel(error), error });
      }),
    );

    // GET /status: version, readiness, store usage and the GC loop's last passes.
    const gcHistory = new GcHistory();
    observability.mount(
      STATUS_PATH,
      statusRoute({ node: nodeName, system: config.system, version: AGENT_VERSION, startedAt, readiness, store, gc: { ...settings.gc, history: gcHistory } }, (error) => {
        metrics.errors.inc({ code: codeLabel(error) });
        log.error('GET /status failed', { code: codeLabel(error), error });
      }),
    );

    const leases = new PodLeases(store, settings.leaseTtlSeconds * 1000, (error, podUid) => reportTaskError(sink, 'lease-renewal', error, { podUid }));
    leases.start();
    stops.push(() => leases.stop());
    const resolve = environmentResolver(config);
    // The pods the watch reports (whatever their prefetch does), to forget pods deleted while the agent was down.
    const podsOnNode = new Set<string>();
    const prefetcher = new Prefetcher({
      kube: {
        ...kube,
        watchPods: (node, onEvent, onError) =>
          kube.watchPods(
            node,
            (event) => {
              if (event.type === 'deleted') podsOnNode.delete(event.pod.uid);
              else podsOnNode.add(event.pod.uid);
              onEvent(event);
            },
            onError,
          ),
      },
      nodeName,
      runtimeClassName: settings.runtimeClassName,
      coordinator,
      resolve: (reference) => resolve(reference),
      afterRealise: async (job, outcome, owner) => {
        const started = performance.now();
        // The profile the pod's containers will mount: its flox.dev/activate-mode, else the manifest's mode.
        const resolved = job.context as ResolvedEnvironment;
        const { lock } = resolved;
        const asked = owner.kind === 'pod' ? owner.pod.annotations['flox.dev/activate-mode']?.trim() : undefined;
        await store.profile(lock, config.system, { mode: activateMode(lock, asked === 'run' || asked === 'dev' ? asked : undefined) });
        metrics.recordPhase('profile', performance.now() - started);
        const realised = { digest: job.digest, reference: job.environment, generation: resolved.generation, system: config.system, storePaths: job.storePaths, lockfile: resolved.bytes };
        try {
          registry.recordRealised(realised, owner.kind === 'pod' ? owner.pod : undefined);
        } catch (error) {
          // The pod runs all the same; only GET /environments misses it until the next realise.
          metrics.errors.inc({ code: codeLabel(error) });
          log.warn('recording the environment for GET /environments failed', { environment: job.environment, code: codeLabel(error), error });
        }
        if (owner.kind === 'pod') leases.hold(owner.pod.uid, outcome.closure);
        else store.pin(`prewarm-${job.digest}`, outcome.closure);
      },
      podGone: async (pod) => {
        leases.release(pod.uid);
        registry.podGone(pod.uid);
      },
      progress: { snapshot: (job) => progress.snapshot(job), intervalMs: progressIntervalMs },
      metrics,
      log,
    });
    await prefetcher.start();
    stops.push(() => prefetcher.stop());
    // The first pod list is in: pods remembered from an earlier run that it lacks were deleted meanwhile.
    registry.retainPods(podsOnNode);
    readiness.set('watch', true);

    if (settings.prewarm) {
      const { namespace, name, key, intervalSeconds } = settings.prewarm;
      const prewarm = async (): Promise<void> => {
        const data = await kube.readConfigMap(namespace, name).catch((error: unknown) => {
          metrics.errors.inc({ code: codeLabel(error) });
          log.warn('reading the pre-warm ConfigMap failed', { error });
          return undefined;
        });
        const refs = parsePrewarmList(data?.[key] ?? '');
        if (refs.length > 0) await prefetcher.prewarm(refs);
      };
      guarded(sink, 'prewarm', prewarm);
      const timer = setInterval(() => guarded(sink, 'prewarm', prewarm), intervalSeconds * 1000);
      timer.unref();
      stops.push(() => clearInterval(timer));
    }

    const gc = startGcLoop({
      store,
      intervalMs: settings.gc.intervalSeconds * 1000,
      highWatermark: settings.gc.highWatermark,
      lowWatermark: settings.gc.lowWatermark,
      hostRoot: settings.gc.hostRoot,
      metrics,
      log,
      onPass: (pass) => gcHistory.record(pass),
    });
    stops.push(() => gc.stop());
    // flox.dev/nix-mutable scratch of containers containerd has deleted. Bundles are host paths, reached
    // through `hostProcRoot`; creates sweep too, this catches the scratch of the last one.
    const sweepScratch = (): void => {
      try {
        const bundleExists = (bundle: string): boolean => existsSync(`${settings.hostProcRoot}${bundle}`);
        const removed = sweepMutableScratch({ scratchRoot: mutableRoot(config.storeRoot), bundleExists });
        if (removed > 0) log.info('removed the writable /nix/store of deleted nix-mutable containers', { removed });
      } catch (error) {
        metrics.errors.inc({ code: codeLabel(error) });
        log.warn('sweeping nix-mutable scratch failed', { error });
      }
    };
    sweepScratch();
    const sweepTimer = setInterval(sweepScratch, settings.gc.intervalSeconds * 1000);
    sweepTimer.unref();
    stops.push(() => clearInterval(sweepTimer));

    await kube.patchNodeLabels(nodeName, { [ENABLED_LABEL]: 'true' });
    log.info('node agent ready', { node: nodeName, host: hostname(), socket: config.agentSocket, patchService: config.patchServiceDir, metrics: observability.url });
    return { metrics, readiness, prefetcher, coordinator, store, observability, stop };
  } catch (error) {
    metrics.errors.inc({ code: codeLabel(error) });
    await stop();
    throw error;
  }
}
