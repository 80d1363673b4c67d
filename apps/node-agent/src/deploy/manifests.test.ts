import { readdir, readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { DaemonSet } from 'kubernetes-models/apps/v1';
import { ConfigMap, Namespace, Secret, ServiceAccount } from 'kubernetes-models/v1';
import { RuntimeClass } from 'kubernetes-models/node.k8s.io/v1';
import { ClusterRole, ClusterRoleBinding, Role, RoleBinding } from 'kubernetes-models/rbac.authorization.k8s.io/v1';
import { parseAllDocuments } from 'yaml';
import { describe, expect, it } from 'vitest';
import { parseAgentConfig } from '../config.ts';
import { AGENT_IMAGE_NAME, SHIM_LAYOUT_PATH } from '../image/agent-image.ts';
import { renderDeploy } from './render.ts';

const deployDir = join(import.meta.dirname, '..', '..', 'deploy');
// kubernetes-models' classes validate against the Kubernetes OpenAPI schema of their kind.
const models: Record<string, new (data: never) => { validate(): void }> = {
  Namespace, ServiceAccount, ConfigMap, Secret, DaemonSet, RuntimeClass, ClusterRole, ClusterRoleBinding, Role, RoleBinding,
};

/** Every YAML file under deploy/, relative (deploy/uninstall/ included). */
async function yamlFiles(): Promise<string[]> {
  return (await readdir(deployDir, { recursive: true })).filter((f) => f.endsWith('.yaml')).sort();
}

async function committed(): Promise<Array<{ file: string; objects: Array<Record<string, unknown>> }>> {
  const files = (await yamlFiles()).filter((f) => !f.endsWith('kustomization.yaml'));
  return Promise.all(
    files.map(async (file) => ({ file, objects: parseAllDocuments(await readFile(join(deployDir, file), 'utf8')).map((d) => d.toJS() as Record<string, unknown>) })),
  );
}

describe('deploy manifests', () => {
  it('are committed exactly as the generator writes them (run `pnpm --filter @flox-k8s/node-agent run manifests`)', async () => {
    const generated = renderDeploy();
    const onDisk = await yamlFiles();
    expect(onDisk).toEqual(Object.keys(generated).sort());
    for (const [file, text] of Object.entries(generated)) expect(await readFile(join(deployDir, file), 'utf8'), file).toBe(text);
  });

  it('validate against the Kubernetes OpenAPI schemas', async () => {
    let count = 0;
    for (const { file, objects } of await committed()) {
      for (const object of objects) {
        const Model = models[object['kind'] as string];
        expect(Model, `${file}: no validator for kind ${String(object['kind'])}`).toBeDefined();
        expect(() => new (Model as NonNullable<typeof Model>)(object as never).validate(), `${file} ${String(object['kind'])}`).not.toThrow();
        count += 1;
      }
    }
    // namespace 1, rbac 5, cli-rbac 1, config 3, runtimeclass 1, daemonset 1, uninstall/daemonset 1.
    expect(count).toBe(13);
  });

  it('the validator rejects a broken DaemonSet (the check can fail)', () => {
    const broken = new DaemonSet({ metadata: { name: 'x' }, spec: { selector: {}, template: { spec: { containers: [{ name: 'a', ports: [{ containerPort: 'nine' as never }] }] } } } });
    expect(() => broken.validate()).toThrow();
  });

  it('ship an agent config the agent accepts, and RBAC limited to what the agent calls', async () => {
    const all = (await committed()).flatMap((f) => f.objects);
    const configMap = all.find((o) => o['kind'] === 'ConfigMap' && (o['metadata'] as { name: string }).name === 'flox-node-agent-config') as { data: Record<string, string> };
    const config = parseAgentConfig(JSON.parse(configMap.data['agent.json'] as string));
    expect(config.agent.installer.hostRoot).toBe('/host');
    const role = all.find((o) => o['kind'] === 'ClusterRole') as { rules: unknown[] };
    expect(role.rules).toEqual([
      { apiGroups: [''], resources: ['pods'], verbs: ['get', 'list', 'watch'] },
      { apiGroups: [''], resources: ['nodes'], verbs: ['get', 'patch'] },
      { apiGroups: [''], resources: ['events'], verbs: ['create'] },
    ]);
    const ds = all.find((o) => o['kind'] === 'DaemonSet') as { spec: { template: { spec: { volumes: Array<{ hostPath?: { path: string } }> } } } };
    expect(ds.spec.template.spec.volumes.flatMap((v) => (v.hostPath ? [v.hostPath.path] : [])).sort()).toEqual([
      '/etc/containerd', '/opt/flox-k8s', '/run/flox-k8s', '/usr/local/bin', '/var/lib/flox-k8s',
    ]);
    const container = (ds as unknown as { spec: { template: { spec: { containers: Array<{ image: string }> } } } }).spec.template.spec.containers[0];
    expect(container?.image).toBe(AGENT_IMAGE_NAME);
    expect(config.agent.installer.shimLayout).toBe(SHIM_LAYOUT_PATH);
    // The CLI's Role: read-only, namespaced, what `status` and `who-uses` call (apps/cli's cluster test checks their requests against it).
    const cliRole = all.find((o) => o['kind'] === 'Role' && (o['metadata'] as { name: string }).name === 'flox-k8s-cli');
    expect(cliRole).toMatchObject({
      metadata: { namespace: 'flox-system' },
      rules: [
        { apiGroups: [''], resources: ['pods'], verbs: ['get', 'list'] },
        { apiGroups: [''], resources: ['pods/proxy'], verbs: ['get'] },
      ],
    });
    expect(all.some((o) => /Binding$/.test(o['kind'] as string) && (o['roleRef'] as { name: string }).name === 'flox-k8s-cli')).toBe(false);
    const rc = all.find((o) => o['kind'] === 'RuntimeClass');
    expect(rc).toMatchObject({ handler: 'flox', scheduling: { nodeSelector: { 'flox.dev/enabled': 'true' } } });
  });

  it('uninstall is a DaemonSet of its own: the agent pod running `uninstall --wait` on every node, Ready when done', async () => {
    const all = await committed();
    const [agent] = all.find((f) => f.file === 'daemonset.yaml')?.objects ?? [];
    const [uninstall] = all.find((f) => f.file === 'uninstall/daemonset.yaml')?.objects ?? [];
    type Pod = { containers: Array<Record<string, unknown>>; volumes: unknown[]; nodeSelector: unknown; tolerations: unknown; hostPID: boolean; serviceAccountName: string };
    const podOf = (ds: unknown): Pod => (ds as { spec: { template: { spec: Pod } } }).spec.template.spec;
    const [a, u] = [podOf(agent), podOf(uninstall)];
    expect(u.containers[0]).toMatchObject({ args: ['uninstall', '--wait'], image: a.containers[0]?.['image'], readinessProbe: { httpGet: { path: '/readyz', port: 'metrics' } } });
    expect(u.containers[0]).not.toHaveProperty('livenessProbe');
    // Finds what install wrote: same host mounts, config, Secret, service account, host PID namespace.
    expect(u.volumes).toEqual(a.volumes);
    expect(u.containers[0]?.['volumeMounts']).toEqual(a.containers[0]?.['volumeMounts']);
    expect([u.serviceAccountName, u.hostPID, u.tolerations]).toEqual([a.serviceAccountName, a.hostPID, a.tolerations]);
    // Every Linux node, not only labelled ones: the uninstall removes that label itself.
    expect(u.nodeSelector).toEqual({ 'kubernetes.io/os': 'linux' });
    expect(await readFile(join(deployDir, 'kustomization.yaml'), 'utf8')).not.toContain('uninstall');
    expect(await readFile(join(deployDir, 'uninstall', 'kustomization.yaml'), 'utf8')).toContain('- daemonset.yaml');
  });
});
