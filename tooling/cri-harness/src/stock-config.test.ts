import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { criClient, hostNetworkPod, removePod, requireRoot, rewriteTomlKeys, startContainerd, type ContainerdVersion } from './index.ts';

describe('rewriteTomlKeys', () => {
  it('changes only the named keys of the named tables, in either quoting style', () => {
    const text = "version = 3\nroot = '/var/lib/containerd'\n\n[grpc]\n  address = '/run/containerd/containerd.sock'\n\n[plugins]\n  [plugins.'io.containerd.nri.v1.nri']\n    disable = false\n    address = 'keep'\n";
    expect(
      rewriteTomlKeys(text, [
        { table: '', key: 'root', value: '/x/root' },
        { table: 'grpc', key: 'address', value: '/x/sock' },
        { table: 'plugins."io.containerd.nri.v1.nri"', key: 'disable', value: true },
      ]),
    ).toBe("version = 3\nroot = \"/x/root\"\n\n[grpc]\n  address = \"/x/sock\"\n\n[plugins]\n  [plugins.'io.containerd.nri.v1.nri']\n    disable = true\n    address = 'keep'\n");
  });
});

describe.skipIf(requireRoot() !== undefined).each<[ContainerdVersion, number]>([
  ['1.6', 2],
  ['1.7', 2],
  ['2.1', 3],
])('containerd %s with its stock config', (version, configVersion) => {
  it('starts on the private paths and runs a host-network pod with the test sandbox image', async () => {
    const containerd = await startContainerd({ version, config: 'stock' });
    const cri = criClient(containerd.socket);
    try {
      const config = await readFile(containerd.paths.config, 'utf8');
      expect(config).toMatch(new RegExp(`^version = ${configVersion}$`, 'm'));
      expect(config).toContain(`"${containerd.paths.root}"`);
      expect(config).toContain('"flox-k8s.test/pause:1"');
      const pod = await hostNetworkPod({ name: 'stock', logDirectory: join(containerd.paths.podLogs, 'stock') });
      const podId = await cri.runPodSandbox(pod);
      expect((await cri.podSandboxStatus(podId)).status.state).toBe('SANDBOX_READY');
      await removePod(cri, podId);
    } finally {
      cri.close();
      await containerd.stop();
    }
  });
});
