/**
 * `@flox-k8s/kube`: the Kubernetes API as flox-k8s uses it (the node agent, the CLI and
 * the cluster-wide queries): the `KubeApi` interface and `kubeClient()`, its
 * implementation on `@kubernetes/client-node`.
 * @module
 */
export { kubeClient, type KubeClientOptions } from './client.ts';
export { podSummary } from './pod-summary.ts';
export { podProxyPath } from './proxy.ts';
export { KubeApiError, KubeError, KubeRequestInvalidError, KubeResponseTooLargeError, KubeTimeoutError } from './errors.ts';
export type { KubeApi, PodEventInput, PodListOptions, PodPort, PodProxyRequest, PodProxyResponse, PodSummary, PodWatchEvent } from './types.ts';
