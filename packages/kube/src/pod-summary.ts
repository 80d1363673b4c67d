import type { V1Pod } from '@kubernetes/client-node';
import type { PodSummary } from './types.ts';

/** The fields flox-k8s reads of a Pod, with absent maps as `{}`. */
export function podSummary(pod: V1Pod): PodSummary {
  return {
    namespace: pod.metadata?.namespace ?? 'default',
    name: pod.metadata?.name ?? '',
    uid: pod.metadata?.uid ?? '',
    nodeName: pod.spec?.nodeName,
    runtimeClassName: pod.spec?.runtimeClassName,
    annotations: pod.metadata?.annotations ?? {},
    labels: pod.metadata?.labels ?? {},
    phase: pod.status?.phase,
    podIP: pod.status?.podIP,
    ports: (pod.spec?.containers ?? []).flatMap((c) => (c.ports ?? []).map((p) => ({ name: p.name, containerPort: p.containerPort, protocol: p.protocol ?? 'TCP' }))),
  };
}
