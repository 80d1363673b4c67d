import {
  CoreV1Api,
  KubeConfig,
  ListWatch,
  PatchStrategy,
  type CoreV1Event,
  type V1Pod,
  type V1PodList,
  Watch,
  setHeaderOptions,
} from '@kubernetes/client-node';
import { KubeApiError } from './errors.ts';
import { podSummary } from './pod-summary.ts';
import { proxyGet } from './proxy.ts';
import type { KubeApi, PodEventInput } from './types.ts';

export interface KubeClientOptions {
  /** `in-cluster` (service account), a kubeconfig file path, or a server URL without credentials (tests). */
  kubeconfig: 'in-cluster' | { file: string } | { server: string };
  /** Reported as the event source component. */
  component: string;
  /** Host name of this node, for the event source. */
  host: string;
  /** Pause before restarting a failed watch (default 2 s). */
  restartDelayMs?: number;
}

function apiError(what: string, error: unknown): KubeApiError {
  const status = (error as { code?: unknown }).code;
  const code = typeof status === 'number' ? status : undefined;
  return new KubeApiError(`${what} failed${code === undefined ? '' : ` with HTTP ${code}`}: ${(error as Error).message?.slice(0, 300)}`, code, { cause: error });
}

function kubeConfig(options: KubeClientOptions): KubeConfig {
  const kc = new KubeConfig();
  if (options.kubeconfig === 'in-cluster') kc.loadFromCluster();
  else if ('file' in options.kubeconfig) kc.loadFromFile(options.kubeconfig.file);
  else {
    kc.loadFromOptions({
      // client-node refuses plain http unless TLS verification is off (there is no TLS to verify).
      clusters: [{ name: 'c', server: options.kubeconfig.server, skipTLSVerify: options.kubeconfig.server.startsWith('http:') }],
      users: [{ name: 'u' }],
      contexts: [{ name: 'x', cluster: 'c', user: 'u' }],
      currentContext: 'x',
    });
  }
  return kc;
}

/** `KubeApi` on `@kubernetes/client-node`: a ListWatch informer for pods, CoreV1Api for the rest, node:http(s) for the pod proxy. */
export function kubeClient(options: KubeClientOptions): KubeApi {
  const kc = kubeConfig(options);
  const core = kc.makeApiClient(CoreV1Api);
  let eventSeq = 0;

  return {
    async watchPods(nodeName, onEvent, onError) {
      const fieldSelector = `spec.nodeName=${nodeName}`;
      const list = (): Promise<V1PodList> => core.listPodForAllNamespaces({ fieldSelector });
      const informer = new ListWatch<V1Pod>('/api/v1/pods', new Watch(kc), list, false, undefined, fieldSelector);
      informer.on('add', (pod) => onEvent({ type: 'added', pod: podSummary(pod) }));
      informer.on('update', (pod) => onEvent({ type: 'updated', pod: podSummary(pod) }));
      informer.on('delete', (pod) => onEvent({ type: 'deleted', pod: podSummary(pod) }));
      let stopped = false;
      informer.on('error', (error) => {
        onError(error);
        // ListWatch stops on error; restart it after a pause, like client-go's reflector.
        if (!stopped) setTimeout(() => void (stopped ? undefined : informer.start().catch(onError)), options.restartDelayMs ?? 2_000).unref();
      });
      await informer.start();
      return {
        stop: async () => {
          stopped = true;
          await informer.stop();
        },
      };
    },

    async listPods(namespace, selectors = {}) {
      try {
        const list = await core.listNamespacedPod({ namespace, ...selectors });
        return list.items.map(podSummary);
      } catch (error) {
        throw apiError(`list pods in ${namespace}`, error);
      }
    },

    async patchNodeLabels(nodeName, labels) {
      try {
        await core.patchNode({ name: nodeName, body: { metadata: { labels } } }, setHeaderOptions('Content-Type', PatchStrategy.MergePatch));
      } catch (error) {
        throw apiError(`patch labels of node ${nodeName}`, error);
      }
    },

    async createPodEvent({ pod, type, reason, message }: PodEventInput) {
      const now = new Date();
      eventSeq += 1;
      const body: CoreV1Event = {
        metadata: { name: `${pod.name}.${now.getTime().toString(16)}${eventSeq.toString(16)}`, namespace: pod.namespace },
        involvedObject: { kind: 'Pod', apiVersion: 'v1', namespace: pod.namespace, name: pod.name, uid: pod.uid },
        reason,
        message: message.slice(0, 1024),
        type,
        source: { component: options.component, host: options.host },
        reportingComponent: options.component,
        reportingInstance: options.host,
        firstTimestamp: now,
        lastTimestamp: now,
        count: 1,
      };
      try {
        await core.createNamespacedEvent({ namespace: pod.namespace, body });
      } catch (error) {
        throw apiError(`create event on pod ${pod.namespace}/${pod.name}`, error);
      }
    },

    async readConfigMap(namespace, name) {
      try {
        const cm = await core.readNamespacedConfigMap({ namespace, name });
        return cm.data ?? {};
      } catch (error) {
        if ((error as { code?: unknown }).code === 404) return undefined;
        throw apiError(`read configmap ${namespace}/${name}`, error);
      }
    },

    proxyGet: (request) => proxyGet(kc, request),
  };
}
