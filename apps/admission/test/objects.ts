// Kubernetes objects for the policy tests, in the shape the API server hands to admission.
import type { AdmissionAttributes } from './vap.ts';

export type WorkloadKind = 'Pod' | 'Deployment' | 'StatefulSet' | 'DaemonSet' | 'ReplicaSet' | 'Job' | 'CronJob';

export const WORKLOAD_KINDS: readonly WorkloadKind[] = ['Pod', 'Deployment', 'StatefulSet', 'DaemonSet', 'ReplicaSet', 'Job', 'CronJob'];

export const RESOURCES: Record<WorkloadKind, { group: string; resource: string }> = {
  Pod: { group: '', resource: 'pods' },
  Deployment: { group: 'apps', resource: 'deployments' },
  StatefulSet: { group: 'apps', resource: 'statefulsets' },
  DaemonSet: { group: 'apps', resource: 'daemonsets' },
  ReplicaSet: { group: 'apps', resource: 'replicasets' },
  Job: { group: 'batch', resource: 'jobs' },
  CronJob: { group: 'batch', resource: 'cronjobs' },
};

export const DIGEST = 'c0ffee'.padEnd(64, '0');
export const ENFORCED = { name: 'team-a', labels: { 'flox.dev/enforce-pinned': 'true', 'kubernetes.io/metadata.name': 'team-a' } };

export interface PodShape {
  /** `flox.dev/environment` on the pod (template); omitted when undefined. */
  env?: string | undefined;
  runtimeClassName?: string | undefined;
  /** Extra pod annotations; `null` drops `metadata` from a template entirely. */
  annotations?: Record<string, string> | null;
  /** `flox.dev/environment` on the workload's own metadata (not the template). */
  workloadEnv?: string | undefined;
}

function podTemplate(shape: PodShape): Record<string, unknown> {
  const annotations = { ...(shape.annotations ?? {}), ...(shape.env === undefined ? {} : { 'flox.dev/environment': shape.env }) };
  const spec: Record<string, unknown> = {
    containers: [{ name: 'app', image: 'flox/empty:1.0.0', command: ['echoserver'] }],
    ...(shape.runtimeClassName === undefined ? {} : { runtimeClassName: shape.runtimeClassName }),
  };
  if (shape.annotations === null && shape.env === undefined) return { spec };
  return { metadata: { labels: { app: 'echo' }, ...(Object.keys(annotations).length === 0 ? {} : { annotations }) }, spec };
}

/** The object of `kind` whose pod has `shape`. */
export function workload(kind: WorkloadKind, shape: PodShape): Record<string, unknown> {
  const template = podTemplate(shape);
  const metadata: Record<string, unknown> = {
    name: 'echo',
    namespace: ENFORCED.name,
    ...(shape.workloadEnv === undefined ? {} : { annotations: { 'flox.dev/environment': shape.workloadEnv } }),
  };
  const apiVersion = RESOURCES[kind].group === '' ? 'v1' : `${RESOURCES[kind].group}/v1`;
  if (kind === 'Pod') {
    const meta = (template['metadata'] as Record<string, unknown> | undefined) ?? {};
    return { apiVersion, kind, metadata: { ...meta, name: 'echo', namespace: ENFORCED.name }, spec: template['spec'] };
  }
  const selector = { matchLabels: { app: 'echo' } };
  const specs: Record<Exclude<WorkloadKind, 'Pod'>, Record<string, unknown>> = {
    Deployment: { replicas: 2, selector, template },
    StatefulSet: { serviceName: 'echo', replicas: 1, selector, template },
    DaemonSet: { selector, template },
    ReplicaSet: { replicas: 1, selector, template },
    Job: { backoffLimit: 1, template: { ...template, spec: { ...(template['spec'] as object), restartPolicy: 'Never' } } },
    CronJob: {
      schedule: '*/5 * * * *',
      jobTemplate: { spec: { template: { ...template, spec: { ...(template['spec'] as object), restartPolicy: 'Never' } } } },
    },
  };
  return { apiVersion, kind, metadata, spec: specs[kind] };
}

/** A CREATE (or `operation`) of `object` in `namespace` (default: an opted-in one). */
export function request(
  kind: WorkloadKind,
  object: Record<string, unknown>,
  options: { operation?: AdmissionAttributes['operation']; namespace?: AdmissionAttributes['namespace']; oldObject?: Record<string, unknown> } = {},
): AdmissionAttributes {
  return {
    operation: options.operation ?? 'CREATE',
    resource: { group: RESOURCES[kind].group, version: 'v1', resource: RESOURCES[kind].resource },
    namespace: options.namespace ?? ENFORCED,
    object,
    oldObject: options.oldObject ?? null,
  };
}
