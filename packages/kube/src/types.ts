/** A container port of a pod: where a proxied request can go. */
export interface PodPort {
  name: string | undefined;
  containerPort: number;
  protocol: string;
}

/** The slice of a Pod flox-k8s reads. */
export interface PodSummary {
  namespace: string;
  name: string;
  uid: string;
  nodeName: string | undefined;
  runtimeClassName: string | undefined;
  annotations: Record<string, string>;
  labels: Record<string, string>;
  phase: string | undefined;
  podIP: string | undefined;
  /** Every container's ports, in container order. */
  ports: PodPort[];
}

export interface PodEventInput {
  pod: Pick<PodSummary, 'namespace' | 'name' | 'uid'>;
  type: 'Normal' | 'Warning';
  reason: string;
  message: string;
}

export type PodWatchEvent = { type: 'added' | 'updated' | 'deleted'; pod: PodSummary };

/** What {@link KubeApi.listPods} selects, in the API server's own selector syntax. */
export interface PodListOptions {
  /** e.g. `app.kubernetes.io/name=flox-node-agent`. */
  labelSelector?: string;
  /** e.g. `spec.nodeName=node-a`. */
  fieldSelector?: string;
}

/** A GET through the API server's pod proxy. */
export interface PodProxyRequest {
  namespace: string;
  pod: string;
  /** The container port number (the proxy dials `<podIP>:<port>`). */
  port: number;
  /** Absolute path on the pod, with its query string: `/environments?x=1`. */
  path: string;
  /** Give up after this long (default 10 s): the API server's proxy has no deadline of its own. */
  timeoutMs?: number;
  /** Refuse an answer larger than this (default 16 MiB). */
  maxBytes?: number;
  signal?: AbortSignal;
}

/** What the pod (or the API server in its stead) answered. */
export interface PodProxyResponse {
  status: number;
  contentType: string | undefined;
  body: Uint8Array;
}

/**
 * Everything flox-k8s asks of Kubernetes. `kubeClient()` implements it on
 * `@kubernetes/client-node`; callers take the slice they use (`Pick<KubeApi, …>`), so a
 * test can hand them any implementation.
 */
export interface KubeApi {
  /** Watch pods bound to `nodeName` (list, then watch; reconnects on its own). Resolves once the first list is in. */
  watchPods(nodeName: string, onEvent: (event: PodWatchEvent) => void, onError: (error: unknown) => void): Promise<{ stop(): Promise<void> }>;
  /** Pods of one namespace matching the selectors. */
  listPods(namespace: string, options?: PodListOptions): Promise<PodSummary[]>;
  /** Set (string) or remove (null) labels on the node with a merge patch. */
  patchNodeLabels(nodeName: string, labels: Record<string, string | null>): Promise<void>;
  /** Post a core/v1 Event about a pod. */
  createPodEvent(event: PodEventInput): Promise<void>;
  /** The data of a ConfigMap, or undefined when it does not exist. */
  readConfigMap(namespace: string, name: string): Promise<Record<string, string> | undefined>;
  /** GET a path of a pod through the API server's pod proxy (`pods/<name>:<port>/proxy/<path>`); any HTTP status is returned, not thrown. */
  proxyGet(request: PodProxyRequest): Promise<PodProxyResponse>;
}
