import { existsSync } from 'node:fs';
import { mkdtemp, readdir, rm } from 'node:fs/promises';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  containerConfig,
  containerLogPath,
  criClient,
  hostNetworkPod,
  generationPattern,
  inGeneration,
  processesUnder,
  readContainerLog,
  removePod,
  requireRoot,
  startContainerd,
  testImages,
  waitForContainer,
  type ContainerdHandle,
  type ContainerdVersion,
  type CriClient,
} from './index.ts';

const skip = requireRoot();

describe.skipIf(skip !== undefined).each<ContainerdVersion>(['1.6', '1.7', '2.1'])('containerd %s', (version) => {
  let containerd: ContainerdHandle;
  let cri: CriClient;

  beforeAll(async () => {
    containerd = await startContainerd({ version });
    cri = criClient(containerd.socket);
  });

  afterAll(async () => {
    cri?.close();
    await containerd?.stop();
  });

  it(`answers CRI Version with a containerd of its generation (${generationPattern(version)}), and reports which`, async ({ annotate }) => {
    const v = await cri.version();
    expect(v.runtime_name).toBe('containerd');
    expect(v.runtime_api_version).toBe('v1');
    expect(inGeneration(version, v.runtime_version)).toBe(true);
    expect(v.runtime_version.replace(/^v/, '')).toContain(containerd.binaries.upstreamVersion);
    const report = `containerd ${version}: ${containerd.binaries.upstreamVersion} (Debian ${containerd.binaries.packageVersion})`;
    console.info(report);
    await annotate(report);
  });

  it('has the test images imported with ctr under their names and digests', async () => {
    const images = await testImages();
    const listed = (await containerd.ctr(['-n', 'k8s.io', 'images', 'ls'])).stdout;
    for (const image of [images.pause, images.busybox, images.stub]) {
      expect(listed).toMatch(new RegExp(`^${image.name.full.replace(/[.]/g, '\\.')}\\s.*${image.manifestDigest}`, 'm'));
    }
    const status = await cri.imageStatus('flox/empty:1.0.0');
    expect(status?.repo_tags).toContain('docker.io/flox/empty:1.0.0');
  });

  it('runs a host-network pod whose container log and ExecSync output match byte for byte', async () => {
    const pod = await hostNetworkPod({ name: `echo-${version.replace('.', '')}`, logDirectory: join(containerd.paths.podLogs, 'echo') });
    const podId = await cri.runPodSandbox(pod);
    try {
      const echo = containerConfig({ name: 'echo', image: 'flox-k8s.test/busybox:1', command: ['echo', 'hello from flox-k8s'] });
      const echoId = await cri.createContainer(podId, echo, pod);
      await cri.startContainer(echoId);
      const done = await waitForContainer(cri, echoId);
      expect(done.exit_code).toBe(0);
      const log = await readContainerLog(containerLogPath(pod, echo));
      expect(log.stdout.toString('latin1')).toBe('hello from flox-k8s\n');
      expect(log.stderr.length).toBe(0);

      const idle = containerConfig({ name: 'idle', image: 'flox-k8s.test/busybox:1', command: ['sleep', '600'] });
      const idleId = await cri.createContainer(podId, idle, pod);
      await cri.startContainer(idleId);
      const out = await cri.execSync(idleId, ['sh', '-c', 'printf "a\\0b"; printf err >&2; exit 3']);
      expect([...out.stdout]).toEqual([0x61, 0x00, 0x62]);
      expect(out.stderr.toString()).toBe('err');
      expect(out.exitCode).toBe(3);
      await cri.stopContainer(idleId, 0);
      expect((await waitForContainer(cri, idleId)).state).toBe('CONTAINER_EXITED');
      // The pause image exits on SIGTERM, so stopping the sandbox does not wait out a kill timeout.
      await cri.stopPodSandbox(podId);
      expect((await cri.podSandboxStatus(podId)).status.state).toBe('SANDBOX_NOTREADY');
    } finally {
      await removePod(cri, podId);
    }
  });

  it('restarts on the same config and answers CRI again with a new PID', async () => {
    const before = containerd.pid();
    await containerd.restart();
    expect(containerd.pid()).not.toBe(before);
    expect((await cri.version()).runtime_name).toBe('containerd');
  });

  it('stops containerd by PID and leaves no process, mount or directory behind', async () => {
    const pid = containerd.pid();
    const dir = containerd.paths.dir;
    await containerd.stop();
    expect(() => process.kill(pid, 0)).toThrow(expect.objectContaining({ code: 'ESRCH' }));
    expect(await processesUnder(dir)).toEqual([]);
    expect(existsSync(dir)).toBe(false);
  });
});

describe.skipIf(skip !== undefined)('containerd 2.1 with runParent (state on tmpfs, as /run on a node)', () => {
  it('keeps the task bundle in the run dir, the snapshots and runc root in the private dir, and stop() removes both', async () => {
    const runParent = await mkdtemp(join('/dev/shm', 'harness-run-'));
    const containerd = await startContainerd({ version: '2.1', runParent });
    const cri = criClient(containerd.socket);
    try {
      const [runDir] = await readdir(runParent);
      expect(runDir).toMatch(/^flox-ctrd-run-/);
      const run = join(runParent, runDir as string);
      expect(containerd.paths.state).toBe(join(run, 'state'));
      expect(containerd.paths.runcRoot).toBe(join(containerd.paths.dir, 'runc'));
      expect(containerd.paths.root.startsWith(`${containerd.paths.dir}/`)).toBe(true);
      const pod = await hostNetworkPod({ name: 'run-parent', logDirectory: join(containerd.paths.podLogs, 'run-parent') });
      const podId = await cri.runPodSandbox(pod);
      try {
        const idle = containerConfig({ name: 'idle', image: 'flox-k8s.test/busybox:1', command: ['sleep', '600'] });
        const id = await cri.createContainer(podId, idle, pod);
        await cri.startContainer(id);
        // containerd 2.x keeps each task's bundle (config.json, the rootfs mount) in its state dir.
        expect(existsSync(join(containerd.paths.state, 'io.containerd.runtime.v2.task', 'k8s.io', id, 'config.json'))).toBe(true);
        expect((await cri.execSync(id, ['echo', 'ok'])).stdout.toString()).toBe('ok\n');
      } finally {
        await removePod(cri, podId);
      }
      const dir = containerd.paths.dir;
      cri.close();
      await containerd.stop();
      expect(existsSync(dir)).toBe(false);
      expect(await readdir(runParent)).toEqual([]);
      expect(await processesUnder(run)).toEqual([]);
    } finally {
      cri.close();
      await containerd.stop();
      await rm(runParent, { recursive: true, force: true });
    }
  });
});
