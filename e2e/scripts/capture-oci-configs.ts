// Captures the OCI config.json that containerd's CRI plugin hands runc for a pod sandbox and
// for an app container (and the process.json of an ExecSync), through a runtime whose runc is
// a copying wrapper. Output: packages/oci-patch/test/fixtures/captured/. Needs root.
//   node --conditions=@flox-k8s/source scripts/capture-oci-configs.ts [1.6|1.7|2.1 …]
import { mkdtemp, mkdir, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { runcCapture } from '@flox-k8s/cri-harness';
import { containerConfig, criClient, hostNetworkPod, removePod, startContainerd, type ContainerdVersion } from '@flox-k8s/cri-harness';

const outDir = new URL('../../packages/oci-patch/test/fixtures/captured/', import.meta.url).pathname;
const versions = (process.argv.slice(2).length > 0 ? process.argv.slice(2) : ['1.6']) as ContainerdVersion[];

async function capture(version: ContainerdVersion): Promise<void> {
  const work = await mkdtemp(join(tmpdir(), 'flox-capture-'));
  const cap = await runcCapture(work);
  const containerd = await startContainerd({
    version,
    runtimes: [
      { name: 'capture', options: { BinaryName: cap.wrapper }, podAnnotations: ['flox.dev/*'], containerAnnotations: ['flox.dev/*'] },
    ],
  });
  const cri = criClient(containerd.socket);
  try {
    const pod = await hostNetworkPod({
      name: 'echoserver',
      namespace: 'default',
      uid: '00000000-0000-4000-8000-000000000001',
      logDirectory: join(containerd.paths.podLogs, 'echoserver'),
      annotations: { 'flox.dev/environment': 'acme/echoserver:12', 'flox.dev/skip-containers': 'sidecar' },
    });
    const podId = await cri.runPodSandbox(pod, 'capture');
    // busybox keeps the container running so ExecSync has a target; the stub image would fail at start.
    const app = containerConfig({
      name: 'echoserver',
      image: 'flox-k8s.test/busybox:1',
      command: ['sleep', '3600'],
      env: { GREETING: 'hello' },
      annotations: { 'flox.dev/activate-mode': 'run' },
    });
    const id = await cri.createContainer(podId, app, pod);
    await cri.startContainer(id);
    await cri.execSync(id, ['sh', '-c', 'echo exec']);
    await removePod(cri, podId);
    const all = await cap.captured();
    const type = (j: unknown): string | undefined =>
      ((j as { annotations?: Record<string, string> }).annotations ?? {})['io.kubernetes.cri.container-type'];
    const sandbox = all.find((c) => c.kind === 'config' && type(c.json) === 'sandbox');
    const container = all.find((c) => c.kind === 'config' && type(c.json) === 'container');
    const exec = all.find((c) => c.kind === 'process');
    if (!sandbox || !container || !exec) throw new Error(`capture incomplete: ${all.map((c) => c.file).join(', ')}`);
    const suffix = version === '1.6' ? '' : `.containerd-${version}`;
    await mkdir(outDir, { recursive: true });
    const write = (name: string, json: unknown): Promise<void> => writeFile(join(outDir, name), `${JSON.stringify(json, null, 2)}\n`);
    await write(`cri-sandbox${suffix}.config.json`, sandbox.json);
    await write(`cri-container${suffix}.config.json`, container.json);
    await write(`cri-exec${suffix}.process.json`, exec.json);
    console.log(`containerd ${containerd.binaries.packageVersion || version}: captured sandbox, container and exec process into ${outDir}`);
  } finally {
    cri.close();
    await containerd.stop();
    await rm(work, { recursive: true, force: true });
  }
}

for (const v of versions) await capture(v);
