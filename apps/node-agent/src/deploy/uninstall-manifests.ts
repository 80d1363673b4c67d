import type { IDaemonSet } from 'kubernetes-models/apps/v1';

export const UNINSTALL_NAME = 'flox-node-agent-uninstall';

/**
 * The uninstall DaemonSet (deploy/uninstall/): the agent's own pod (same image, host mounts,
 * service account, config and Secret, so it finds exactly what install wrote) running
 * `uninstall --wait` on every node. Ready means "uninstalled here"; a failure exits, and the
 * pod's restarts and logs say why (e.g. the agent DaemonSet still running).
 */
export function uninstallDaemonSet(agent: IDaemonSet): IDaemonSet {
  const ds = structuredClone(agent);
  const labels = { ...ds.metadata?.labels, 'app.kubernetes.io/name': UNINSTALL_NAME };
  ds.metadata = { ...ds.metadata, name: UNINSTALL_NAME, labels };
  const spec = ds.spec as NonNullable<IDaemonSet['spec']>;
  spec.selector = { matchLabels: { 'app.kubernetes.io/name': UNINSTALL_NAME } };
  spec.template.metadata = { ...spec.template.metadata, labels: { ...spec.template.metadata?.labels, 'app.kubernetes.io/name': UNINSTALL_NAME } };
  const pod = spec.template.spec as NonNullable<typeof spec.template.spec>;
  pod.containers = pod.containers.map((c) => {
    const { livenessProbe: _liveness, ...rest } = c;
    return {
      ...rest,
      name: 'uninstall',
      args: ['uninstall', '--wait'],
      readinessProbe: { httpGet: { path: '/readyz', port: 'metrics' }, periodSeconds: 5 },
      resources: { requests: { cpu: '10m', memory: '64Mi' }, limits: { memory: '256Mi' } },
    };
  });
  return ds;
}
