import { hostname } from 'node:os';
import { join } from 'node:path';
import { ENVIRONMENTS_PATH, STATUS_PATH } from '@flox-k8s/agent-protocol';
import type { ResolvedEnvironment } from '@flox-k8s/environments';
import { cacheConfigs } from '@flox-k8s/config';
import { listenPatchService } from '@flox-k8s/interposer';
import { Store } from '@flox-k8s/store';
import { shimConfigOf, type AgentConfig } from './config.ts';
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
import { PodLeases } from './prefetch/leases.ts';
import { parsePrewarmList } from './prefetch/prewarm.ts';
import { Prefetcher } from './prefetch/prefetcher.ts';
import { environmentResolver } from './prefetch/resolver.ts';
import { RealiseCoordinator } from './realise/coordinator.ts';
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
  const observability = await listenObservability({ host: settings.metricsHost, port: settings.metricsPort, registry: metrics.registry, readiness });
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

    const store = await Store.open(config.storeRoot);
    const realiser = storeRealiser({ store, caches: await cacheConfigs(config), trustedKeys: config.trustedKeys });
    stops.push(() => realiser.close());
    const coordinator = new RealiseCoordinator(realiser, (report) => {
      metrics.inFlight.set(coordinator.inFlight);
      if (report.outcome) metrics.recordOutcome(report.outcome, report.origin, report.elapsedMs);
      else {
        metrics.realiseSeconds.observe({ origin: report.origin, result: 'error' }, report.elapsedMs / 1000);
        metrics.errors.inc({ code: codeLabel(report.error) });
      }
    });
    stops.push(() => coordinator.close());

    const socket = await listenRealiseSocket({
      socketPath: config.agentSocket,
      coordinator,
      onRequest: (r) => {
        metrics.inFlight.set(coordinator.inFlight);
        if (r.outcome === 'invalid' && r.code) metrics.errors.inc({ code: r.code });
        log.info('socket realise', r);
      },
    });
    stops.push(() => socket.close());
    readiness.set('socket', true);

    // The runc front's create/exec, served warm (no Node start per container). Not fatal when it
    // cannot start: fronts then start their own Node per container; readiness shows `patcher` failed.
    const patchLog = log.child({ component: 'patch-service' });
    const patcher = await listenPatchService({
      dir: config.patchServiceDir,
      config: shimConfigOf(config),
      log: { log: (level, msg, fields) => patchLog[level](msg, fields) },
      onRequest: (r) => {
        metrics.patchRequests.inc({ subcommand: r.subcommand ?? 'none', outcome: r.outcome });
        if (r.outcome === 'fail' || r.outcome === 'timeout') metrics.errors.inc({ code: r.reason });
      },
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

    const leases = new PodLeases(store, settings.leaseTtlSeconds * 1000);
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
        const resolved = job.context as ResolvedEnvironment;
        await store.profile(resolved.lock, config.system);
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
      void prewarm();
      const timer = setInterval(() => void prewarm(), intervalSeconds * 1000);
      timer.unref();
      stops.push(() => clearInterval(timer));
    }

    const gc = startGcLoop({
      store,
      intervalMs: settings.gc.intervalSeconds * 1000,
      highWatermark: settings.gc.highWatermark,
      lowWatermark: settings.gc.lowWatermark,
      metrics,
      log,
      onPass: (pass) => gcHistory.record(pass),
    });
    stops.push(() => gc.stop());

    await kube.patchNodeLabels(nodeName, { [ENABLED_LABEL]: 'true' });
    log.info('node agent ready', { node: nodeName, host: hostname(), socket: config.agentSocket, patchService: config.patchServiceDir, metrics: observability.url });
    return { metrics, readiness, prefetcher, coordinator, store, observability, stop };
  } catch (error) {
    metrics.errors.inc({ code: codeLabel(error) });
    await stop();
    throw error;
  }
}
