/** The slice of a Pod the agent reads. */
export interface PodSummary {
  namespace: string;
  name: string;
  uid: string;
  nodeName: string | undefined;
  runtimeClassName: string | undefined;
  annotations: Record<string, string>;
  phase: string | undefined;
}

export interface PodEventInput {
  pod: PodSummary;
  type: 'Normal' | 'Warning';
  reason: string;
  message: string;
}

export type PodWatchEvent = { type: 'added' | 'updated' | 'deleted'; pod: PodSummary };

/**
 * Everything the agent asks of Kubernetes. The client-node implementation lives in `client.ts`;
 * the rest of the agent sees only this interface.
 */
export interface KubeApi {
  /** Watch pods bound to `nodeName` (list, then watch; reconnects on its own). Resolves once the first list is in. */
  watchPods(nodeName: string, onEvent: (event: PodWatchEvent) => void, onError: (error: unknown) => void): Promise<{ stop(): Promise<void> }>;
  /** Set (string) or remove (null) labels on the node with a merge patch. */
  patchNodeLabels(nodeName: string, labels: Record<string, string | null>): Promise<void>;
  /** Post a core/v1 Event about a pod. */
  createPodEvent(event: PodEventInput): Promise<void>;
  /** The data of a ConfigMap, or undefined when it does not exist. */
  readConfigMap(namespace: string, name: string): Promise<Record<string, string> | undefined>;
}
