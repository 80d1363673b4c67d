import type { IDaemonSet } from 'kubernetes-models/apps/v1';
import type { IConfigMap, INamespace, ISecret, IServiceAccount } from 'kubernetes-models/v1';
import type { IRuntimeClass } from 'kubernetes-models/node.k8s.io/v1';
import type { IClusterRole, IClusterRoleBinding, IRole, IRoleBinding } from 'kubernetes-models/rbac.authorization.k8s.io/v1';
import { FETCH_PROCESS_ENV } from '@flox-k8s/nar/process-env';
import { AGENT_IMAGE_NAME } from '../image/agent-image.ts';
import type { AgentConfigInput } from './config-input.ts';

/** Inputs of the generated manifests. */
export interface DeployOptions {
  namespace: string;
  /** Image reference the agent image tarball is built with (and imported as, on air-gapped nodes). */
  image: string;
  runtimeClassName: string;
  metricsPort: number;
}

export const defaultDeployOptions: DeployOptions = {
  namespace: 'flox-system',
  image: AGENT_IMAGE_NAME,
  runtimeClassName: 'flox',
  metricsPort: 9464,
};

const name = 'flox-node-agent';
const labels = { 'app.kubernetes.io/name': name, 'app.kubernetes.io/part-of': 'flox-k8s' };
const configDir = '/etc/flox-k8s/config';
const secretDir = '/etc/flox-k8s/secrets';

/** The agent config shipped in the ConfigMap: the shim's settings plus `agent`; edit it for your caches and hub. */
export function defaultAgentConfig(options: DeployOptions): AgentConfigInput {
  return {
    storeRoot: '/var/lib/flox-k8s',
    caches: [{ url: 'https://cache.nixos.org', priority: 40 }],
    trustedKeys: ['cache.nixos.org-1:6NCHdD59X431o0gWypbMrAURkbJ16ZPMQFGspcDShjY='],
    sources: [{ type: 'hub', url: 'https://hub.example.com/environments', tokenFile: `${secretDir}/hub-token` }],
    agentSocket: '/run/flox-k8s/agent.sock',
    agent: {
      runtimeClassName: options.runtimeClassName,
      metricsPort: options.metricsPort,
      prewarm: { namespace: options.namespace, name: 'flox-prewarm' },
      gc: { intervalSeconds: 300, highWatermark: 0.85, lowWatermark: 0.7 },
      installer: { hostRoot: '/host', containerdConfig: '/etc/containerd/config.toml', installDir: '/opt/flox-k8s', shimLinkDir: '/usr/local/bin' },
    },
  };
}

type Manifest = INamespace | IServiceAccount | IClusterRole | IClusterRoleBinding | IRole | IRoleBinding | IConfigMap | ISecret | IRuntimeClass | IDaemonSet;

/** Every object of the deployment, grouped by the file it is written to. */
export function deployManifests(options: DeployOptions = defaultDeployOptions): Record<string, Manifest[]> {
  const ns = options.namespace;
  const meta = (n: string) => ({ name: n, namespace: ns, labels });
  // Host paths mounted at /host/<path>: the installer writes only below these.
  const hostDirs: Array<{ volume: string; path: string; type: 'Directory' | 'DirectoryOrCreate' }> = [
    { volume: 'containerd-config', path: '/etc/containerd', type: 'DirectoryOrCreate' },
    { volume: 'install-dir', path: '/opt/flox-k8s', type: 'DirectoryOrCreate' },
    { volume: 'shim-link-dir', path: '/usr/local/bin', type: 'DirectoryOrCreate' },
  ];
  // Shared with the shim at the same path on both sides.
  const sameDirs = [
    { volume: 'store', path: '/var/lib/flox-k8s' },
    { volume: 'agent-socket', path: '/run/flox-k8s' },
  ];

  const daemonSet: IDaemonSet = {
    apiVersion: 'apps/v1',
    kind: 'DaemonSet',
    metadata: meta(name),
    spec: {
      selector: { matchLabels: { 'app.kubernetes.io/name': name } },
      updateStrategy: { type: 'RollingUpdate', rollingUpdate: { maxUnavailable: 1 } },
      template: {
        metadata: { labels },
        spec: {
          serviceAccountName: name,
          // nsenter into PID 1 restarts containerd and reads its version on the host.
          hostPID: true,
          priorityClassName: 'system-node-critical',
          tolerations: [{ operator: 'Exists' }],
          nodeSelector: { 'kubernetes.io/os': 'linux' },
          terminationGracePeriodSeconds: 30,
          containers: [
            {
              name: 'agent',
              image: options.image,
              imagePullPolicy: 'IfNotPresent',
              args: ['run'],
              env: [
                { name: 'NODE_NAME', valueFrom: { fieldRef: { fieldPath: 'spec.nodeName' } } },
                { name: 'FLOXK8S_AGENT_CONFIG', value: `${configDir}/agent.json` },
                // How a process that fetches NARs runs (@flox-k8s/nar's FETCH_PROCESS_ENV says why):
                // glibc's mmap threshold at 2 MiB, one malloc arena, huge pages for its buffers, and V8's young generation capped at 2 MB.
                ...Object.entries(FETCH_PROCESS_ENV).map(([name, value]) => ({ name, value })),
              ],
              ports: [{ name: 'metrics', containerPort: options.metricsPort, protocol: 'TCP' }],
              livenessProbe: { httpGet: { path: '/healthz', port: 'metrics' }, periodSeconds: 20, failureThreshold: 3 },
              readinessProbe: { httpGet: { path: '/readyz', port: 'metrics' }, periodSeconds: 10 },
              resources: { requests: { cpu: '50m', memory: '128Mi' }, limits: { memory: '1Gi' } },
              securityContext: { privileged: true },
              volumeMounts: [
                ...hostDirs.map((d) => ({ name: d.volume, mountPath: `/host${d.path}` })),
                ...sameDirs.map((d) => ({ name: d.volume, mountPath: d.path })),
                { name: 'config', mountPath: configDir, readOnly: true },
                { name: 'credentials', mountPath: secretDir, readOnly: true },
              ],
            },
          ],
          volumes: [
            ...hostDirs.map((d) => ({ name: d.volume, hostPath: { path: d.path, type: d.type } })),
            ...sameDirs.map((d) => ({ name: d.volume, hostPath: { path: d.path, type: 'DirectoryOrCreate' as const } })),
            { name: 'config', configMap: { name: `${name}-config` } },
            { name: 'credentials', secret: { secretName: `${name}-credentials`, defaultMode: 0o400 } },
          ],
        },
      },
    },
  };

  return {
    'namespace.yaml': [{ apiVersion: 'v1', kind: 'Namespace', metadata: { name: ns, labels } }],
    'rbac.yaml': [
      { apiVersion: 'v1', kind: 'ServiceAccount', metadata: meta(name) },
      {
        apiVersion: 'rbac.authorization.k8s.io/v1',
        kind: 'ClusterRole',
        metadata: { name, labels },
        rules: [
          { apiGroups: [''], resources: ['pods'], verbs: ['get', 'list', 'watch'] },
          { apiGroups: [''], resources: ['nodes'], verbs: ['get', 'patch'] },
          { apiGroups: [''], resources: ['events'], verbs: ['create'] },
        ],
      },
      {
        apiVersion: 'rbac.authorization.k8s.io/v1',
        kind: 'ClusterRoleBinding',
        metadata: { name, labels },
        roleRef: { apiGroup: 'rbac.authorization.k8s.io', kind: 'ClusterRole', name },
        subjects: [{ kind: 'ServiceAccount', name, namespace: ns }],
      },
      {
        apiVersion: 'rbac.authorization.k8s.io/v1',
        kind: 'Role',
        metadata: meta(`${name}-prewarm`),
        rules: [{ apiGroups: [''], resources: ['configmaps'], resourceNames: ['flox-prewarm'], verbs: ['get'] }],
      },
      {
        apiVersion: 'rbac.authorization.k8s.io/v1',
        kind: 'RoleBinding',
        metadata: meta(`${name}-prewarm`),
        roleRef: { apiGroup: 'rbac.authorization.k8s.io', kind: 'Role', name: `${name}-prewarm` },
        subjects: [{ kind: 'ServiceAccount', name, namespace: ns }],
      },
    ],
    // For the people and jobs running `flox-k8s status` and `who-uses`: exactly what those
    // commands call (list the agent pods, GET through their pod proxy), in the agents'
    // namespace only. No binding is shipped: bind it to your users or groups (apps/cli/README.md).
    'cli-rbac.yaml': [
      {
        apiVersion: 'rbac.authorization.k8s.io/v1',
        kind: 'Role',
        metadata: { name: 'flox-k8s-cli', namespace: ns, labels: { 'app.kubernetes.io/name': 'flox-k8s-cli', 'app.kubernetes.io/part-of': 'flox-k8s' } },
        rules: [
          { apiGroups: [''], resources: ['pods'], verbs: ['get', 'list'] },
          { apiGroups: [''], resources: ['pods/proxy'], verbs: ['get'] },
        ],
      },
    ],
    'config.yaml': [
      { apiVersion: 'v1', kind: 'ConfigMap', metadata: meta(`${name}-config`), data: { 'agent.json': `${JSON.stringify(defaultAgentConfig(options), null, 2)}\n` } },
      { apiVersion: 'v1', kind: 'ConfigMap', metadata: meta('flox-prewarm'), data: { environments: '# One environment reference per line (owner/name, owner/name:N, owner/name@sha256:…)\n' } },
      { apiVersion: 'v1', kind: 'Secret', metadata: meta(`${name}-credentials`), type: 'Opaque', stringData: { 'hub-token': 'REPLACE-WITH-HUB-TOKEN' } },
    ],
    'runtimeclass.yaml': [
      {
        apiVersion: 'node.k8s.io/v1',
        kind: 'RuntimeClass',
        metadata: { name: options.runtimeClassName, labels },
        handler: options.runtimeClassName,
        // Only nodes where the agent installed the runtime (it sets the label) get flox pods.
        scheduling: { nodeSelector: { 'flox.dev/enabled': 'true' } },
      },
    ],
    'daemonset.yaml': [daemonSet],
  };
}
