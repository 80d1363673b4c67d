import type { ProgressSnapshot } from '@flox-k8s/progress';
import { guarded } from '../background.ts';
import { codeLabel } from '../errors.ts';
import type { KubeApi, PodSummary, PodWatchEvent } from '@flox-k8s/kube';
import type { Logger } from '../log.ts';
import type { AgentMetrics } from '../metrics/metrics.ts';
import type { RealiseCoordinator } from '../realise/coordinator.ts';
import type { RealiseJob, RealiseOutcome } from '../realise/types.ts';
import { failedMessage, realisedMessage, realisingMessage, realisingStartMessage } from './format.ts';

export const ENVIRONMENT_ANNOTATION = 'flox.dev/environment';

/** What resolving an annotation gives: the realise job plus whatever the follow-up step needs. */
export interface ResolvedEnvironmentJob extends RealiseJob {
  /** Opaque to the prefetcher: handed back to `afterRealise` (the resolved environment, for the profile and the registry). */
  context?: unknown;
}

export interface PrefetchDeps {
  kube: KubeApi;
  nodeName: string;
  runtimeClassName: string;
  coordinator: RealiseCoordinator;
  /** Annotation value → realise job (environment source + lockfile). */
  resolve(reference: string, signal: AbortSignal): Promise<ResolvedEnvironmentJob>;
  /** After the closure is in: build the profile, take the pod's lease. */
  afterRealise?(job: ResolvedEnvironmentJob, outcome: RealiseOutcome, owner: { kind: 'pod'; pod: PodSummary } | { kind: 'prewarm' }): Promise<void>;
  /** The pod went away: release its lease. */
  podGone?(pod: PodSummary): Promise<void>;
  /** Where a running realise stands (`FloxRealising` events); none posted without it. */
  progress?: { snapshot(job: RealiseJob): ProgressSnapshot | undefined; intervalMs: number };
  metrics: AgentMetrics;
  log: Logger;
}

type Wanted = { pod: PodSummary; reference: string };

/** The flox pods bound to this node that want an environment. */
export function wantedEnvironment(pod: PodSummary, runtimeClassName: string): Wanted | undefined {
  if (pod.runtimeClassName !== runtimeClassName) return undefined;
  if (pod.phase === 'Succeeded' || pod.phase === 'Failed') return undefined;
  const reference = pod.annotations[ENVIRONMENT_ANNOTATION];
  if (reference === undefined || reference.trim() === '') return undefined;
  return { pod, reference: reference.trim() };
}

/**
 * Watches the pods bound to this node and realises their environments as soon as they are bound,
 * long before kubelet asks containerd to create the containers; posts an event per pod.
 */
export class Prefetcher {
  readonly #deps: PrefetchDeps;
  /** pod uid → reference already handled (or being handled). */
  readonly #seen = new Map<string, string>();
  readonly #running = new Set<Promise<void>>();
  readonly #stop = new AbortController();
  #watch: { stop(): Promise<void> } | undefined;

  constructor(deps: PrefetchDeps) {
    this.#deps = deps;
  }

  async start(): Promise<void> {
    this.#watch = await this.#deps.kube.watchPods(
      this.#deps.nodeName,
      // Called by the informer's stream: a pod object we cannot handle must not end the watch or the process.
      (event) => guarded(this.#deps, 'pod-event', () => this.handle(event), { pod: `${event.pod.namespace}/${event.pod.name}` }),
      (error) => {
        this.#deps.metrics.errors.inc({ code: codeLabel(error) === 'FLOXK8S_AGENT_UNKNOWN' ? 'FLOXK8S_AGENT_KUBE_WATCH' : codeLabel(error) });
        this.#deps.log.warn('pod watch failed; restarting', { error });
      },
    );
  }

  async stop(): Promise<void> {
    this.#stop.abort();
    await this.#watch?.stop();
    await this.idle();
  }

  /** Resolves when no prefetch is running (tests, shutdown). */
  async idle(): Promise<void> {
    while (this.#running.size > 0) await Promise.allSettled([...this.#running]);
  }

  handle(event: PodWatchEvent): void {
    const { pod } = event;
    if (event.type === 'deleted') {
      if (this.#seen.delete(pod.uid)) {
        this.#deps.metrics.podsWatched.set(this.#seen.size);
        guarded(this.#deps, 'lease-release', () => this.#deps.podGone?.(pod), { pod: `${pod.namespace}/${pod.name}` });
      }
      return;
    }
    if (pod.nodeName !== this.#deps.nodeName) return;
    const wanted = wantedEnvironment(pod, this.#deps.runtimeClassName);
    if (!wanted || this.#seen.get(pod.uid) === wanted.reference) return;
    this.#seen.set(pod.uid, wanted.reference);
    this.#deps.metrics.podsWatched.set(this.#seen.size);
    this.#track(this.#prefetch(wanted.reference, { kind: 'pod', pod }));
  }

  /** Realise environments named by the pre-warm list (no pod, no event; pinned by `afterRealise`). */
  prewarm(references: readonly string[]): Promise<void> {
    const all = Promise.all(references.map((r) => this.#prefetch(r, { kind: 'prewarm' }))).then(() => undefined);
    this.#track(all);
    return all;
  }

  #track(p: Promise<void>): void {
    this.#running.add(p);
    void p.finally(() => this.#running.delete(p));
  }

  async #prefetch(reference: string, owner: { kind: 'pod'; pod: PodSummary } | { kind: 'prewarm' }): Promise<void> {
    const { log, metrics, kube } = this.#deps;
    const started = performance.now();
    const where = owner.kind === 'pod' ? { pod: `${owner.pod.namespace}/${owner.pod.name}` } : { prewarm: true };
    try {
      const resolveStart = performance.now();
      const job = await this.#deps.resolve(reference, this.#stop.signal);
      metrics.recordPhase('resolve', performance.now() - resolveStart);
      const reporter = owner.kind === 'pod' ? this.#progressReporter(owner.pod, reference, job) : undefined;
      const outcome = await this.#deps.coordinator
        .realise(job, { signal: this.#stop.signal, origin: 'prefetch', ...(reporter ? { onProgress: reporter.onProgress } : {}) })
        .finally(() => reporter?.stop());
      await this.#deps.afterRealise?.(job, outcome, owner);
      const elapsed = performance.now() - started;
      log.info('realised', { ...where, environment: reference, paths: outcome.closure.length, fetched: outcome.fetched.length, bytes: outcome.bytesDownloaded, ms: Math.round(elapsed) });
      if (owner.kind === 'pod') {
        await kube
          .createPodEvent({ pod: owner.pod, type: 'Normal', reason: 'FloxRealised', message: realisedMessage(reference, outcome.closure.length, outcome.bytesDownloaded, elapsed) })
          .catch((eventError: unknown) => {
            metrics.errors.inc({ code: codeLabel(eventError) });
            log.warn('posting the event failed', { ...where, error: eventError });
          });
      }
    } catch (error) {
      if (this.#stop.signal.aborted) return;
      const code = codeLabel(error);
      metrics.errors.inc({ code });
      log.warn('prefetch failed', { ...where, environment: reference, code, error });
      if (owner.kind === 'pod') {
        // Let the pod retry on its next update, and let kubelet's create path report the error too.
        this.#seen.delete(owner.pod.uid);
        metrics.podsWatched.set(this.#seen.size);
        await kube
          .createPodEvent({ pod: owner.pod, type: 'Warning', reason: 'FloxRealiseFailed', message: failedMessage(reference, code, (error as Error).message ?? String(error)) })
          .catch((eventError: unknown) => log.warn('posting the failure event failed', { ...where, error: eventError }));
      }
    }
  }

  /**
   * `FloxRealising` events on the pod while its closure is fetched: one as soon as the totals are
   * known, then one per interval while the figures move (the flight's shared tally, so a container
   * create joining the fetch sees the same). Nothing when every path is already in the store.
   */
  #progressReporter(pod: PodSummary, reference: string, job: RealiseJob): { onProgress: () => void; stop: () => void } | undefined {
    const progress = this.#deps.progress;
    if (progress === undefined) return undefined;
    let timer: NodeJS.Timeout | undefined;
    let posted = '';
    const post = (message: string): void => {
      posted = message;
      void this.#deps.kube.createPodEvent({ pod, type: 'Normal', reason: 'FloxRealising', message }).catch((error: unknown) => {
        this.#deps.metrics.errors.inc({ code: codeLabel(error) });
        this.#deps.log.warn('posting the progress event failed', { pod: `${pod.namespace}/${pod.name}`, error });
      });
    };
    const tick = (): void => {
      const snapshot = progress.snapshot(job);
      if (snapshot === undefined || snapshot.pathsDone === snapshot.pathsTotal) return;
      const message = realisingMessage(reference, snapshot);
      // The rate moves every tick: compare what was done, not the whole line.
      if (message.replace(/, [0-9.]+ MB\/s$/, '') !== posted.replace(/, [0-9.]+ MB\/s$/, '')) post(message);
    };
    return {
      onProgress: () => {
        if (timer !== undefined) return;
        const snapshot = progress.snapshot(job);
        if (snapshot === undefined || !snapshot.planned || snapshot.pathsTotal === 0) return;
        post(realisingStartMessage(reference, snapshot));
        timer = setInterval(tick, progress.intervalMs);
        timer.unref();
      },
      stop: () => clearInterval(timer),
    };
  }
}
