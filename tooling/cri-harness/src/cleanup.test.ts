import { existsSync, mkdtempSync, rmSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import {
  containerConfig,
  criClient,
  hostNetworkPod,
  mountsUnder,
  processesUnder,
  requireRoot,
  startContainerd,
  sweepStaleDirs,
} from './index.ts';

describe.skipIf(requireRoot() !== undefined)('sweepStaleDirs', () => {
  it('removes the dir, shims, containers and mounts of a containerd that died without stop()', async () => {
    // A parent of this test's own: every startContainerd elsewhere (other test files, other runs on
    // the machine) sweeps the shared temp dir and would remove the killed containerd's dir first.
    const parent = mkdtempSync('/tmp/flox-sweep-');
    const shared = process.env['TMPDIR'];
    process.env['TMPDIR'] = parent;
    const containerd = await startContainerd({ version: '1.6' }).finally(() => {
      if (shared === undefined) delete process.env['TMPDIR'];
      else process.env['TMPDIR'] = shared;
    });
    const cri = criClient(containerd.socket);
    const dir = containerd.paths.dir;
    try {
      const pod = await hostNetworkPod({ name: 'orphan', logDirectory: join(containerd.paths.podLogs, 'orphan') });
      const podId = await cri.runPodSandbox(pod);
      const id = await cri.createContainer(podId, containerConfig({ name: 'sleep', image: 'flox-k8s.test/busybox:1', command: ['sleep', '600'] }), pod);
      await cri.startContainer(id);
      expect((await processesUnder(dir)).length).toBeGreaterThan(0);
      expect((await mountsUnder(dir)).length).toBeGreaterThan(0);
      process.kill(containerd.pid(), 'SIGKILL'); // as if the test run had crashed
      await new Promise((r) => setTimeout(r, 200));
      expect(dir.startsWith(`${parent}/flox-ctrd-16-`)).toBe(true);
      expect(await sweepStaleDirs(parent, 'flox-ctrd-')).toEqual([dir]);
      expect(await processesUnder(dir)).toEqual([]);
      expect(await mountsUnder(dir)).toEqual([]);
      expect(existsSync(dir)).toBe(false);
    } finally {
      cri.close();
      await containerd.stop();
      rmSync(parent, { recursive: true, force: true });
    }
  });
});
