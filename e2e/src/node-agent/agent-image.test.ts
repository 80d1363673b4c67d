// The agent image, built without Docker, imports with `ctr images import` and runs: Node with its
// shared libraries, the bundled agent, the host programs it ships with (AGENT_IMAGE_TOOLS), the CA bundle.
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { AGENT_IMAGE_NAME, AGENT_IMAGE_TOOLS, agentImage, bundleAgent, hostShimLayout } from '@flox-k8s/node-agent';
import { shimPrograms } from '@flox-k8s/shim';
import { stageLayout } from '@flox-k8s/shim-layout';
import type { BuiltImage } from '@flox-k8s/oci-image';
import { requireRoot, startContainerd, type ContainerdHandle } from '@flox-k8s/cri-harness';

describe.skipIf(requireRoot())('agent image', () => {
  let containerd: ContainerdHandle;
  let dir: string;
  let image: BuiltImage;

  beforeAll(async () => {
    dir = await mkdtemp(join(tmpdir(), 'flox-agent-image-e2e-'));
    image = await agentImage({
      nodeBinary: process.execPath,
      agentBundle: await bundleAgent(),
      shimLayoutDir: await stageLayout({ programs: shimPrograms, ...hostShimLayout('/opt/flox-k8s') }, join(dir, 'layout')),
      caCertificates: '/etc/ssl/certs/ca-certificates.crt',
      tools: [...AGENT_IMAGE_TOOLS],
    });
    containerd = await startContainerd({ version: '1.6', importTestImages: false });
  }, 600_000);
  afterAll(async () => {
    await containerd?.stop();
    if (dir) await rm(dir, { recursive: true, force: true });
  });

  it('imports with ctr under its name and digest', async () => {
    await containerd.importImage(image.tarball, { namespace: 'k8s.io' });
    const { stdout } = await containerd.ctr(['-n', 'k8s.io', 'images', 'ls']);
    const line = stdout.split('\n').find((l) => l.startsWith(`${AGENT_IMAGE_NAME} `));
    expect(line).toBeDefined();
    expect(line).toContain(image.manifestDigest);
  }, 120_000);

  it('runs the bundled agent on the image\'s Node, and nsenter and sync with their libraries', async () => {
    const run = async (id: string, ...argv: string[]): Promise<string> =>
      (await containerd.ctr(['-n', 'k8s.io', 'run', '--rm', AGENT_IMAGE_NAME, id, ...argv], { timeoutMs: 60_000 })).stdout;
    const version = JSON.parse(await run('agent-version', '/usr/local/bin/node', '/opt/flox-node-agent/agent.mjs', 'version')) as { name: string; node: string };
    // koffi beside the bundle loads the image's liblzma and libzstd: NARs decode in process, as benchmarked.
    expect(version).toMatchObject({ name: 'flox-node-agent', node: process.version, xzDecoder: expect.stringMatching(/^liblzma \d/), zstdDecoder: expect.stringMatching(/^libzstd \d/) });
    expect(await run('agent-nsenter', '/usr/bin/nsenter', '--version')).toMatch(/nsenter from util-linux/);
    // The store's `sync -f` (storeSync: syncfs) runs in the image, on a directory of it.
    expect(await run('agent-sync', '/usr/bin/sync', '--version')).toMatch(/^sync \(GNU coreutils\)/);
    expect(await run('agent-sync-f', '/usr/bin/sync', '-f', '/tmp')).toBe('');
    expect(await run('agent-ca', '/usr/local/bin/node', '-e', 'process.stdout.write(String(require("fs").statSync(process.env.SSL_CERT_FILE).size > 1000))')).toBe('true');
    expect(await run('agent-layout', '/usr/local/bin/node', '-e', 'process.stdout.write(require("fs").readFileSync("/opt/flox-node-agent/shim-layout/bin/containerd-shim-flox-v2", "utf8").includes("/opt/flox-k8s/shim/libexec/flox-k8s") ? "ok" : "bad")')).toBe('ok');
  }, 120_000);
});
