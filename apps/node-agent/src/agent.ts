import { hostname } from 'node:os';
import type { Lockfile } from '@flox-k8s/lockfile';
import { cacheConfigs } from '@flox-k8s/config';
import { listenPatchService } from '@flox-k8s/interposer';
import { Store } from '@flox-k8s/store';
import { shimConfigOf, type AgentConfig } from './config.ts';
import { codeLabel } from './errors.ts';
import { startGcLoop } from './gc/gc-loop.ts';
import { type HostActions, type InstallOptions, installRuntime } from './install/host-install.ts';
import type { KubeApi } from './kube/types.ts';
import type { Logger } from './log.ts';
import { listenObservability, Readiness, type ObservabilityServer } from './metrics/http-server.ts';
import { createMetrics, type AgentMetrics } from './metrics/metrics.ts';
import { PodLeases } from './prefetch/leases.ts';
import { parsePrewarmList } from './prefetch/prewarm.ts';
import { Prefetcher } from './prefetch/prefetcher.ts';
import { environmentResolver } from './prefetch/resolver.ts';
import { RealiseCoordinator } from './realise/coordinator.ts';
import { recordGrace } from './realise/grace-report.ts';
import { listenRealiseSocket } from './realise/socket-server.ts';
import { storeRealiser } from './realise/store-realiser.ts';

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

    const store = await Store.open(config.storeRoot, { fetchWorker: deps.fetchWorker });
    const realiser = storeRealiser({ store, caches: await cacheConfigs(config), trustedKeys: config.trustedKeys });
    stops.push(() => realiser.close());
    const coordinator = new RealiseCoordinator(
      realiser,
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
    });
    stops.push(() => socket.close());
    readiness.set('socket', true);

    // The runc front's create/exec, served warm (no Node start per container). Not fatal when it
    // cannot start: fronts then start their own Node per container; readiness shows `patcher` failed.
    const patchLog = log.child({ component: 'patch-service' });
    const patcher = await listenPatchService({
      dir: config.patchServiceDir,
      config: shimConfigOf(config),
      fetchWorker: deps.fetchWorker,
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

    const leases = new PodLeases(store, settings.leaseTtlSeconds * 1000);
    leases.start();
    stops.push(() => leases.stop());
    const resolve = environmentResolver(config);
    const prefetcher = new Prefetcher({
      kube,
      nodeName,
      runtimeClassName: settings.runtimeClassName,
      coordinator,
      resolve: (reference) => resolve(reference),
      afterRealise: async (job, outcome, owner) => {
        const started = performance.now();
        await store.profile(job.context as Lockfile, config.system);
        metrics.recordPhase('profile', performance.now() - started);
        if (owner.kind === 'pod') leases.hold(owner.pod.uid, outcome.closure);
        else store.pin(`prewarm-${job.digest}`, outcome.closure);
      },
      podGone: async (pod) => leases.release(pod.uid),
      metrics,
      log,
    });
    await prefetcher.start();
    stops.push(() => prefetcher.stop());
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
      hostRoot: settings.gc.hostRoot,
      metrics,
      log,
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
