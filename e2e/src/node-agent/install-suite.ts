// Issue-8 acceptance: install/uninstall of the flox runtime against a real containerd of one
// generation, started with a stock config; registered by install-16/17/21.test.ts.
import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { installRuntime, uninstallRuntime } from '@flox-k8s/node-agent';
import { TEST_BUSYBOX_IMAGE_NAME } from '@flox-k8s/oci-image';
import {
  containerConfig,
  containerLogPath,
  criClient,
  hostNetworkPod,
  readContainerLog,
  removePod,
  requireRoot,
  waitForContainer,
  type ContainerdPaths,
  type ContainerdVersion,
  type CriClient,
} from '@flox-k8s/cri-harness';
import { startAgentHost, type AgentHost } from './host.ts';

/** Run `echo <word>` in a busybox container of a pod with the given runtime handler; returns the log. */
export async function runEcho(cri: CriClient, paths: ContainerdPaths, handler: string, word: string, annotations: Record<string, string> = {}): Promise<string> {
  const pod = await hostNetworkPod({ name: `echo-${word}`, logDirectory: join(paths.podLogs, `echo-${word}`), annotations });
  const sandbox = await cri.runPodSandbox(pod, handler);
  try {
    const container = containerConfig({ name: 'echo', image: TEST_BUSYBOX_IMAGE_NAME, command: ['/bin/echo', word], annotations });
    const id = await cri.createContainer(sandbox, container, pod);
    await cri.startContainer(id);
    const status = await waitForContainer(cri, id, { timeoutMs: 60_000 });
    expect(status.exit_code).toBe(0);
    return (await readContainerLog(containerLogPath(pod, container))).stdout.toString('utf8');
  } finally {
    await removePod(cri, sandbox);
  }
}

export function defineInstallSuite(version: ContainerdVersion, variant: 'stock' | 'imports' = 'stock'): void {
  describe.skipIf(requireRoot())(`install on containerd ${version} (${variant} config)`, () => {
    let host: AgentHost;
    let cri: CriClient;
    let importedOriginal = '';
    const importFile = (paths: ContainerdPaths): string => join(paths.dir, 'conf.d', '10-cri.toml');
    beforeAll(async () => {
      host = await startAgentHost(
        variant === 'stock'
          ? { version }
          : {
              version,
              // imports + a drop-in that redefines the CRI section: containerd lets the later file's section
              // win, so the runtime must be added there (the precedence pitfall).
              prepare: (stock) => {
                importedOriginal = `# drop-in owned by the operator\n${stock}`;
                return { main: `imports = ["conf.d/*.toml"]\n${stock.replace(/^imports = \[\]\n/m, '')}`, files: { 'conf.d/10-cri.toml': importedOriginal } };
              },
            },
      );
      cri = criClient(host.containerd.socket, { deadlineMs: 120_000 });
    }, 600_000);
    afterAll(async () => {
      cri?.close();
      await host?.stop();
    });

    it('installs, restarts containerd, and a CRI pod with the flox runtime runs a container', async () => {
      await expect(runEcho(cri, host.containerd.paths, 'flox', 'before')).rejects.toThrow();
      const result = await installRuntime(host.installOptions, host.actions);
      expect(result.restarted).toBe(true);
      expect(host.actions.restarts).toBe(1);
      expect(result.containerd.configVersion).toBe(version === '2.1' ? 3 : 2);
      const target = variant === 'stock' ? host.containerd.paths.config : importFile(host.containerd.paths);
      expect(result.target.path).toBe(target);
      expect(await readFile(target, 'utf8')).toContain('runtimes.flox]');
      expect(await runEcho(cri, host.containerd.paths, 'flox', 'hello-flox')).toBe('hello-flox\n');
    }, 180_000);

    it('is idempotent: a second install changes nothing and does not restart', async () => {
      const before = await readFile(host.containerd.paths.config, 'utf8');
      const again = await installRuntime(host.installOptions, host.actions);
      expect(again).toMatchObject({ configChanged: false, restarted: false });
      expect(host.actions.restarts).toBe(1);
      expect(await readFile(host.containerd.paths.config, 'utf8')).toBe(before);
    }, 60_000);

    it('uninstall restores the original config byte for byte, and the flox runtime is gone', async () => {
      const result = await uninstallRuntime(host.installOptions, host.actions);
      expect(result.config).toBe('restored');
      expect(await readFile(host.containerd.paths.config, 'utf8')).toBe(host.originalConfig);
      if (variant === 'imports') expect(await readFile(importFile(host.containerd.paths), 'utf8')).toBe(importedOriginal);
      await expect(runEcho(cri, host.containerd.paths, 'flox', 'after')).rejects.toThrow();
      expect(await runEcho(cri, host.containerd.paths, '', 'runc-still-works')).toBe('runc-still-works\n');
    }, 120_000);
  });
}
