// Issue-8 acceptance: the node agent installs the runtime into a real containerd, prefetches the
// environment of a pod bound to the node (seen through the fake apiserver), and the shim's container
// create is then served by the agent's socket without any request to the binary cache.
// Issue-18: nothing by hand. containerd starts without the stub image and cannot reach a registry;
// the agent's install imports flox/empty:1.0.0, so the stub pod starts; uninstall runs what the
// uninstall DaemonSet runs (the bundled agent, `uninstall --wait`) and restores the config's bytes.
import { spawn } from 'node:child_process';
import { readFile, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { nixFixtures, serveCache, type ServedCache } from '@flox-k8s/nix-fixtures';
import {
  AGENT_BUNDLE_FILES,
  bundleAgent,
  writeAgentBundle,
  deployManifests,
  ENABLED_LABEL,
  memoryLogger,
  ociArchitecture,
  uninstallDaemonSet,
  type RunningAgent,
} from '@flox-k8s/node-agent';
import { startFakeApiserver, type FakeApiserver } from '@flox-k8s/fake-apiserver';
import { publishEnvironment } from '@flox-k8s/environments';
import { STUB_IMAGE_NAME, stubImage } from '@flox-k8s/oci-image';
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
import { hostAgentConfig, startAgentHost, startHostAgent, type AgentHost } from './host.ts';

const ENVIRONMENT = 'acme/agent-fixture';

export function defineAgentShimSuite(version: ContainerdVersion): void {
  describe.skipIf(requireRoot())(`node agent + shim on containerd ${version}`, () => {
    let host: AgentHost;
    let cache: ServedCache;
    let apiserver: FakeApiserver;
    let agent: RunningAgent;
    let cri: CriClient;
    let stubBeforeInstall: unknown;
    let agentConfig: Record<string, unknown>;
    const log = memoryLogger();

    beforeAll(async () => {
      const fixtures = await nixFixtures();
      cache = await serveCache(fixtures.caches.xz);
      host = await startAgentHost({ version, images: 'sandbox' });
      cri = criClient(host.containerd.socket, { deadlineMs: 120_000 });
      stubBeforeInstall = await cri.imageStatus(STUB_IMAGE_NAME);
      const hubDir = join(host.dir, 'hub');
      await publishEnvironment(hubDir, 'acme', 'agent-fixture', fixtures.lockfile.bytes);
      apiserver = await startFakeApiserver();
      apiserver.addNode('node-1');
      const input = { caches: [{ url: cache.url }], trustedKeys: [fixtures.publicKey], sources: [{ type: 'dir' as const, path: hubDir }] };
      // Kept for the uninstall test, which runs the bundled agent with the same config file.
      agentConfig = hostAgentConfig(host, input);
      agent = await startHostAgent(host, apiserver.url, input, log);
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

    it('imported the stub image into k8s.io; no registry is reachable to pull it from', async () => {
      expect(stubBeforeInstall).toBeUndefined();
      const stub = await stubImage({ architecture: ociArchitecture() });
      const listed = (await host.containerd.ctr(['-n', 'k8s.io', 'images', 'ls'])).stdout.split('\n').find((l) => l.startsWith('docker.io/flox/empty:1.0.0 '));
      expect(listed).toContain(stub.manifestDigest);
      expect(await cri.imageStatus(STUB_IMAGE_NAME)).toMatchObject({ repo_tags: ['docker.io/flox/empty:1.0.0'] });
      // kubelet's IfNotPresent finds it; a pull could not have happened: containerd's registry traffic goes nowhere.
      await expect(cri.pullImage(STUB_IMAGE_NAME)).rejects.toMatchObject({ code: 'FLOXK8S_E2E_CRI_CALL', method: 'PullImage' });
    }, 120_000);

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

    it('flox.dev/nix-mutable through the patch service: scratch layers made via the front’s view of the host', async () => {
      const annotations = { 'flox.dev/environment': ENVIRONMENT, 'flox.dev/nix-mutable': 'true' };
      const pod = await hostNetworkPod({ name: 'mutable', logDirectory: join(host.containerd.paths.podLogs, 'mutable'), annotations });
      const sandbox = await cri.runPodSandbox(pod, 'flox');
      try {
        const app = containerConfig({ name: 'app', image: STUB_IMAGE_NAME, command: ['sh', '-c', 'echo written > /nix/store/new-entry && cat /nix/store/new-entry && hello-flox >/dev/null && echo ok'] });
        const id = await cri.createContainer(sandbox, app, pod);
        await cri.startContainer(id);
        expect((await waitForContainer(cri, id, { timeoutMs: 60_000 })).exit_code).toBe(0);
        expect((await readContainerLog(containerLogPath(pod, app))).stdout.toString()).toBe('written\nok\n');
        expect(log.records.find((r) => r['msg'] === 'container patched' && r['containerId'] === id)?.['entry']).toBe('service');
        expect(await readFile(join(host.dir, 'store', 'mutable', id, 'store', 'upper', 'new-entry'), 'utf8')).toBe('written\n');
      } finally {
        await removePod(cri, sandbox);
      }
    }, 120_000);

    it("uninstall from the uninstall DaemonSet: refused while the agent runs, then restores containerd's config byte for byte", async () => {
      // What the DaemonSet's pod runs: the image's Node and agent bundle with the manifest's args and env.
      const ds = uninstallDaemonSet(deployManifests()['daemonset.yaml']?.[0] as never);
      const container = ds.spec?.template.spec?.containers[0];
      // The image's /opt/flox-node-agent: agent.mjs and the fetch worker it starts from beside it.
      await writeAgentBundle(await bundleAgent(), host.dir);
      const bundle = join(host.dir, AGENT_BUNDLE_FILES.agent);
      const kubeconfig = join(host.dir, 'kubeconfig');
      await writeFile(
        kubeconfig,
        `apiVersion: v1\nkind: Config\nclusters: [{ name: c, cluster: { server: "${apiserver.url}", insecure-skip-tls-verify: true } }]\nusers: [{ name: u, user: {} }]\ncontexts: [{ name: x, context: { cluster: c, user: u } }]\ncurrent-context: x\n`,
      );
      const { ctr, containerd: containerdBinary } = host.containerd.binaries;
      const address = ['--address', host.containerd.socket];
      const restarts = join(host.dir, 'restart-requests');
      const configFile = join(host.dir, 'agent-uninstall.json');
      await writeFile(
        configFile,
        JSON.stringify({
          ...agentConfig,
          agent: {
            metricsHost: '127.0.0.1',
            metricsPort: 0,
            installer: {
              hostRoot: '',
              containerdConfig: host.installOptions.containerdConfig,
              installDir: host.installOptions.installDir,
              shimLinkDir: host.installOptions.shimLinkDir,
              shimLayout: host.installOptions.shimLayout,
              versionCommand: [containerdBinary, '--version'],
              // The node's `systemctl restart containerd`: recorded here, done by the test (it owns this containerd).
              restartCommand: ['/bin/sh', '-c', `echo restart >> ${restarts}`],
              healthCommand: [ctr, ...address, 'version'],
              imageListCommand: [ctr, ...address, '-n', 'k8s.io', 'images', 'ls'],
              imageImportCommand: [ctr, ...address, '-n', 'k8s.io', 'images', 'import', '-'],
              imageRemoveCommand: [ctr, ...address, '-n', 'k8s.io', 'images', 'rm'],
            },
          },
        }),
      );
      const env: NodeJS.ProcessEnv = { PATH: process.env['PATH'], KUBECONFIG: kubeconfig };
      for (const e of container?.env ?? []) env[e.name] = e.name === 'NODE_NAME' ? 'node-1' : e.name === 'FLOXK8S_AGENT_CONFIG' ? configFile : e.value;
      const runPod = (): { done: Promise<number | null>; lines: () => Array<Record<string, unknown>>; stop: () => void } => {
        const child = spawn(process.execPath, [bundle, ...(container?.args ?? [])], { env, stdio: ['ignore', 'pipe', 'inherit'] });
        let out = '';
        child.stdout.setEncoding('utf8').on('data', (c: string) => (out += c));
        return {
          done: new Promise((r) => child.on('close', r)),
          lines: () => out.split('\n').filter((l) => l.startsWith('{')).map((l) => JSON.parse(l) as Record<string, unknown>),
          stop: () => child.kill('SIGTERM'),
        };
      };
      expect(container?.args).toEqual(['uninstall', '--wait']);

      // The agent still serves the node: the pod fails (and would restart) without touching anything.
      const early = runPod();
      expect(await early.done).toBe(1);
      expect(early.lines().at(-1)).toMatchObject({ level: 'error', code: 'FLOXK8S_AGENT_STILL_RUNNING' });
      expect(await readFile(host.containerd.paths.config, 'utf8')).toContain('runtimes.flox]');

      await agent.stop();
      const pod = runPod();
      const deadline = Date.now() + 60_000;
      let readyz: string | undefined;
      while (readyz === undefined && Date.now() < deadline) {
        await new Promise((r) => setTimeout(r, 100));
        readyz = pod.lines().find((l) => typeof l['readyz'] === 'string')?.['readyz'] as string | undefined;
      }
      expect(readyz, JSON.stringify(pod.lines())).toBeDefined();
      expect((await fetch(readyz as string)).status).toBe(200);
      expect(pod.lines().find((l) => l['msg'] === 'uninstalled')).toMatchObject({ config: 'restored', restarted: true, stubImage: 'removed' });
      expect(await readFile(host.containerd.paths.config, 'utf8')).toBe(host.originalConfig);
      expect(await readFile(restarts, 'utf8')).toBe('restart\n');
      expect(apiserver.node('node-1')?.metadata['labels']).toEqual({});
      pod.stop();
      expect(await pod.done).toBe(0);

      // containerd on the restored config: no flox runtime, no stub image; plain runc pods still run.
      await host.containerd.restart();
      expect(await cri.imageStatus(STUB_IMAGE_NAME)).toBeUndefined();
      const sandboxConfig = await hostNetworkPod({ name: 'after-uninstall', logDirectory: join(host.containerd.paths.podLogs, 'after-uninstall') });
      await expect(cri.runPodSandbox(sandboxConfig, 'flox')).rejects.toMatchObject({ code: 'FLOXK8S_E2E_CRI_CALL' });
      const plain = await cri.runPodSandbox(sandboxConfig);
      await removePod(cri, plain);
    }, 240_000);
  });
}
