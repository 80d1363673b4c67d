// Where a workload keeps the pod it runs: the object itself (Pod), `spec.template`
// (Deployment, StatefulSet, DaemonSet, ReplicaSet, Job) or `spec.jobTemplate.spec.template`
// (CronJob). The same kinds the ValidatingAdmissionPolicy matches.

export const ENVIRONMENT_ANNOTATION = 'flox.dev/environment';

const TEMPLATE_PATHS: Record<string, string[]> = {
  'v1/Pod': [],
  'apps/v1/Deployment': ['spec', 'template'],
  'apps/v1/StatefulSet': ['spec', 'template'],
  'apps/v1/DaemonSet': ['spec', 'template'],
  'apps/v1/ReplicaSet': ['spec', 'template'],
  'batch/v1/Job': ['spec', 'template'],
  'batch/v1/CronJob': ['spec', 'jobTemplate', 'spec', 'template'],
};

/** The pod (template) of a workload, and the JSON Pointer of its metadata. */
export interface PodTemplate {
  /** e.g. `/spec/template/metadata`; `/metadata` for a Pod. */
  metadataPointer: string;
  /** For messages: `spec.template.metadata.annotations`. */
  annotationsPath: string;
  annotations: Record<string, unknown> | undefined;
  runtimeClassName: unknown;
}

/** The kinds the webhook judges, as `group/version/Kind` (core: `v1/Pod`). */
export const WORKLOAD_KINDS: readonly string[] = Object.keys(TEMPLATE_PATHS);

export function kindKey(kind: { group: string; version: string; kind: string }): string {
  return `${kind.group === '' ? '' : `${kind.group}/`}${kind.version}/${kind.kind}`;
}

function child(value: unknown, key: string): unknown {
  return typeof value === 'object' && value !== null && !Array.isArray(value) ? (value as Record<string, unknown>)[key] : undefined;
}

/** The pod template of `object` of kind `key`, or undefined when the kind is not a workload the webhook judges. */
export function podTemplate(key: string, object: Record<string, unknown>): PodTemplate | undefined {
  const path = TEMPLATE_PATHS[key];
  if (path === undefined) return undefined;
  const pod = path.reduce<unknown>((at, segment) => child(at, segment), object);
  const metadata = child(pod, 'metadata');
  const annotations = child(metadata, 'annotations');
  return {
    metadataPointer: `/${[...path, 'metadata'].join('/')}`,
    annotationsPath: [...path, 'metadata', 'annotations'].join('.'),
    annotations: typeof annotations === 'object' && annotations !== null && !Array.isArray(annotations) ? (annotations as Record<string, unknown>) : undefined,
    runtimeClassName: child(child(pod, 'spec'), 'runtimeClassName'),
  };
}
