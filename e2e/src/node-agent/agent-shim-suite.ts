// Issue-8 acceptance: the node agent installs the runtime into a real containerd, prefetches the
// environment of a pod bound to the node (seen through the fake apiserver), and the shim's container
// create is then served by the agent's socket without any request to the binary cache.
import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { nixFixtures, serveCache, type ServedCache } from '@flox-k8s/nix-fixtures';
import { ENABLED_LABEL, memoryLogger, uninstallRuntime, type RunningAgent } from '@flox-k8s/node-agent';
import { startFakeApiserver, type FakeApiserver } from '@flox-k8s/fake-apiserver';
import { publishEnvironment } from '@flox-k8s/environments';
import { STUB_IMAGE_NAME } from '@flox-k8s/oci-image';
import {
  containerConfig,
  containerLogPath,
  criClient,
  hostNetworkPod,
  readContainerLog,
  removePod,
  requireRoot,
  waitForContainer,
  type ContainerdVersion,
  type CriClient,
} from '@flox-k8s/cri-harness';
import { startAgentHost, startHostAgent, type AgentHost } from './host.ts';

const ENVIRONMENT = 'acme/agent-fixture';

export function defineAgentShimSuite(version: ContainerdVersion): void {
  describe.skipIf(requireRoot())(`node agent + shim on containerd ${version}`, () => {
    let host: AgentHost;
    let cache: ServedCache;
    let apiserver: FakeApiserver;
    let agent: RunningAgent;
    let cri: CriClient;
    const log = memoryLogger();

    beforeAll(async () => {
      const fixtures = await nixFixtures();
      cache = await serveCache(fixtures.caches.xz);
      host = await startAgentHost({ version });
      const hubDir = join(host.dir, 'hub');
      await publishEnvironment(hubDir, 'acme', 'agent-fixture', fixtures.lockfile.bytes);
      apiserver = await startFakeApiserver();
      apiserver.addNode('node-1');
      agent = await startHostAgent(host, apiserver.url, { caches: [{ url: cache.url }], trustedKeys: [fixtures.publicKey], sources: [{ type: 'dir', path: hubDir }] }, log);
      cri = criClient(host.containerd.socket, { deadlineMs: 120_000 });
    }, 600_000);

    afterAll(async () => {
      cri?.close();
      await agent?.stop();
      await apiserver?.close();
      await cache?.close();
      await host?.stop();
    });

    it('installed the runtime, restarted containerd once and labelled the node', () => {
      expect(host.actions.restarts).toBe(1);
      expect(apiserver.node('node-1')?.metadata['labels']).toEqual({ [ENABLED_LABEL]: 'true' });
    });

    it('prefetches on pod binding; container create then makes no request to the cache', async () => {
      const uid = '7d3c1b52-0d8e-4c55-9b7a-4b9f3a1e2c10';
      apiserver.putPod({ metadata: { name: 'echo', namespace: 'default', uid, annotations: { 'flox.dev/environment': ENVIRONMENT } }, spec: { nodeName: 'node-1', runtimeClassName: 'flox' } });
      const deadline = Date.now() + 60_000;
      while (!apiserver.events.some((e) => e['reason'] === 'FloxRealised') && Date.now() < deadline) await new Promise((r) => setTimeout(r, 50));
      const event = apiserver.events.find((e) => e['reason'] === 'FloxRealised');
      expect(event?.['message']).toMatch(/^Realised acme\/agent-fixture: \d+ paths, [0-9.]+ MB fetched in [0-9.]+ s$/);
      const narsFetched = cache.count(/^\/nar\//);
      expect(narsFetched).toBeGreaterThan(0);

      const requestsBefore = cache.requests.length;
      const pod = await hostNetworkPod({ name: 'echo', uid, logDirectory: join(host.containerd.paths.podLogs, 'echo'), annotations: { 'flox.dev/environment': ENVIRONMENT } });
      const sandbox = await cri.runPodSandbox(pod, 'flox');
      try {
        const app = containerConfig({ name: 'app', image: STUB_IMAGE_NAME, command: ['hello-flox'] });
        const id = await cri.createContainer(sandbox, app, pod);
        await cri.startContainer(id);
        const status = await waitForContainer(cri, id, { timeoutMs: 60_000 });
        expect(status.exit_code).toBe(0);
        expect((await readContainerLog(containerLogPath(pod, app))).stdout.toString()).toMatch(/hello/i);
        // The runc front handed the create to the agent's patch service (no Node started per container).
        expect(log.records.filter((r) => r['msg'] === 'container patched').map((r) => `${r['entry']} ${r['containerId']}`)).toEqual([`service ${id}`]);
        // ExecSync into a patched container: the exec's process spec is patched by the service too.
        const shell = containerConfig({ name: 'shell', image: STUB_IMAGE_NAME, command: ['sleep', '300'] });
        const shellId = await cri.createContainer(sandbox, shell, pod);
        await cri.startContainer(shellId);
        const exec = await cri.execSync(shellId, ['sh', '-c', 'echo "$FLOX_ENV"'], 20);
        expect(exec.exitCode).toBe(0);
        expect(exec.stdout.toString().trim()).toBe('/run/flox-k8s/env');
        const metrics = await (await fetch(`${agent.observability.url}/metrics`)).text();
        expect(metrics).toMatch(/flox_agent_patch_requests_total\{subcommand="create",outcome="ok"\} [1-9]/);
        expect(metrics).toMatch(/flox_agent_patch_requests_total\{subcommand="exec",outcome="ok"\} [1-9]/);
      } finally {
        await removePod(cri, sandbox);
      }
      expect(cache.requests.slice(requestsBefore)).toEqual([]);
      // The shim asked the agent (not an in-process realise): the agent logged the socket request.
      expect(log.records.some((r) => r['msg'] === 'socket realise' && r['outcome'] === 'done')).toBe(true);
    }, 120_000);

    it('uninstall restores the original containerd config byte for byte', async () => {
      await agent.stop();
      const result = await uninstallRuntime(host.installOptions, host.actions);
      expect(result.config).toBe('restored');
      expect(await readFile(host.containerd.paths.config, 'utf8')).toBe(host.originalConfig);
    }, 60_000);
  });
}
