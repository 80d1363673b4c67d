import { writeFile } from 'node:fs/promises';

/**
 * Writes a kubeconfig file for a loopback API server (JSON, which is YAML), as kubectl and
 * `@kubernetes/client-node` read it: one cluster, one user with a bearer token, one current
 * context. Plain http needs `insecure-skip-tls-verify` for client-node to accept it.
 */
export async function writeKubeconfig(file: string, server: string, options: { token?: string; namespace?: string } = {}): Promise<string> {
  const config = {
    apiVersion: 'v1',
    kind: 'Config',
    clusters: [{ name: 'fake', cluster: { server, ...(server.startsWith('http:') ? { 'insecure-skip-tls-verify': true } : {}) } }],
    users: [{ name: 'tester', user: { token: options.token ?? 'fake-apiserver-token' } }],
    contexts: [{ name: 'fake', context: { cluster: 'fake', user: 'tester', namespace: options.namespace ?? 'default' } }],
    'current-context': 'fake',
  };
  await writeFile(file, `${JSON.stringify(config, null, 2)}\n`, { mode: 0o600 });
  return file;
}
