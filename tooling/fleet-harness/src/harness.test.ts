// The pieces of the harness that need no Nix: the kubeconfig it writes is one
// @flox-k8s/kube reads, and the process launcher waits for the agent's ready line or
// reports why it never came. The whole harness runs in the node agent's and the CLI's suites.
import { chmod, mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { startFakeApiserver } from '@flox-k8s/fake-apiserver';
import { kubeClient } from '@flox-k8s/kube';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { agentProcessLauncher, writeKubeconfig } from './index.ts';

let dir: string;
beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), 'flox-fleet-harness-'));
});
afterAll(async () => {
  await rm(dir, { recursive: true, force: true });
});

async function program(name: string, source: string): Promise<string> {
  const file = join(dir, `${name}.mjs`);
  await writeFile(file, source);
  await chmod(file, 0o755);
  return file;
}

describe('writeKubeconfig', () => {
  it('writes a kubeconfig that @kubernetes/client-node loads and uses against the fake API server', async () => {
    const apiserver = await startFakeApiserver();
    try {
      apiserver.putPod({ metadata: { name: 'p', namespace: 'flox-system', labels: { a: 'b' } }, spec: { nodeName: 'n' }, status: { phase: 'Running' } });
      const file = await writeKubeconfig(join(dir, 'kubeconfig'), apiserver.url);
      const kube = kubeClient({ kubeconfig: { file }, component: 'test', host: 'test' });
      expect((await kube.listPods('flox-system', { labelSelector: 'a=b' })).map((p) => p.name)).toEqual(['p']);
    } finally {
      await apiserver.close();
    }
  });
});

describe('agentProcessLauncher', () => {
  const launch = { node: 'node-x', config: { agent: {} }, apiserverUrl: 'http://127.0.0.1:1', kubeconfig: '/nonexistent' };

  it('passes the config, node and kubeconfig in the environment and answers with the URL of the ready line; stop() ends it', async () => {
    const main = await program(
      'ready',
      `const { readFileSync } = await import('node:fs');
       const config = JSON.parse(readFileSync(process.env.FLOXK8S_AGENT_CONFIG, 'utf8'));
       console.log(JSON.stringify({ msg: 'starting', node: process.env.NODE_NAME, kubeconfig: process.env.KUBECONFIG, argv: process.argv.slice(2), config }));
       console.log(JSON.stringify({ msg: 'node agent ready', metrics: 'http://127.0.0.1:4242' }));
       process.once('SIGTERM', () => process.exit(0));
       setInterval(() => {}, 1000);`,
    );
    const agent = await agentProcessLauncher({ main })({ ...launch, dir });
    expect(agent.url).toBe('http://127.0.0.1:4242');
    expect(JSON.parse(agent.output[0]!)).toEqual({ msg: 'starting', node: 'node-x', kubeconfig: '/nonexistent', argv: ['run'], config: { agent: {} } });
    await agent.stop();
    expect(() => process.kill(agent.pid, 0)).toThrow();
  });

  it('fails with the program\'s output when it exits before it is ready', async () => {
    const main = await program('crash', `console.log(JSON.stringify({ msg: 'run failed', code: 'FLOXK8S_AGENT_CONFIG_INVALID' })); process.exit(3);`);
    await expect(agentProcessLauncher({ main })({ ...launch, dir })).rejects.toThrow(/agent for node-x exited with 3 before it was ready; its output:\n.*FLOXK8S_AGENT_CONFIG_INVALID/);
  });

  it('gives up on a program that never says it is ready', async () => {
    const main = await program('silent', 'setInterval(() => {}, 1000);');
    await expect(agentProcessLauncher({ main, readyTimeoutMs: 300 })({ ...launch, dir })).rejects.toThrow(/did not log "node agent ready" within 300 ms/);
  });
});
