// Issue-18 acceptance, on each containerd generation (registered by suite.ts on its node):
// Flox parity (FLOX_ENV_CACHE, FLOX_ENV_PROJECT, the manifest's activate mode, disable-metrics,
// nix-mutable with the node store's bytes unchanged) and an environment on a real base image.
import { existsSync } from 'node:fs';
import { readdir, readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { expect, it } from 'vitest';
import { publishEnvironment } from '@flox-k8s/environments';
import { treeDigest } from '@flox-k8s/nix-fixtures';
import { buildImage, STUB_IMAGE_NAME, type LayerEntry } from '@flox-k8s/oci-image';
import { containerConfig, containerLogPath, readContainerLog, removePod, waitForContainer, type ContainerConfig, type PodSandboxConfig } from '@flox-k8s/cri-harness';
import { ENV_OWNER } from './flox-node.ts';
import type { FloxNode } from './flox-node.ts';
import { createAndStart, podConfig } from './pod-helpers.ts';

const ENV_DIR = '/run/flox-k8s/env';
const DEV_ENVIRONMENT = `${ENV_OWNER}/fixture-dev`;
const BASE_IMAGE = 'flox-k8s.test/base:1';

/** Runs one container of a fresh pod to its end; its stdout (and the pod, for ExecSync when `keep`). */
async function runToEnd(node: FloxNode, name: string, annotations: Record<string, string>, container: ContainerConfig): Promise<{ stdout: string; exitCode: number | undefined }> {
  const pod: PodSandboxConfig = await podConfig(node, name, annotations);
  const podId = await node.cri.runPodSandbox(pod, 'flox');
  try {
    const id = await createAndStart(node.cri, podId, container, pod);
    const status = await waitForContainer(node.cri, id, { timeoutMs: 120_000 });
    return { stdout: (await readContainerLog(containerLogPath(pod, container))).stdout.toString(), exitCode: status.exit_code };
  } finally {
    await removePod(node.cri, podId);
  }
}

/** The parity and base-image cases, against the node `get()` returns (set up by the suite's beforeAll). */
export function defineParityCases(get: () => FloxNode, environment: string): void {
  it('8. Flox parity: FLOX_ENV_CACHE (writable), FLOX_ENV_PROJECT, the manifest’s activate mode and disable-metrics are visible, in the container and through ExecSync', async () => {
    const node = get();
    // The fixture environment with `options.activate.mode = "dev"` in its manifest.
    const lock = JSON.parse(Buffer.from(node.fixtures.lockfile.bytes).toString('utf8')) as { manifest: { options?: Record<string, unknown> } };
    lock.manifest.options = { ...lock.manifest.options, activate: { mode: 'dev' } };
    await publishEnvironment(node.hubDir, ENV_OWNER, 'fixture-dev', new TextEncoder().encode(JSON.stringify(lock, null, 2)));
    const script = 'echo "cache=$FLOX_ENV_CACHE project=$FLOX_ENV_PROJECT pkg=${PKG_CONFIG_PATH:-none} metrics=${FLOX_DISABLE_METRICS:-unset}"; echo ok > "$FLOX_ENV_CACHE/probe" && cat "$FLOX_ENV_CACHE/probe"; pwd';
    const dev = await runToEnd(node, 'parity-dev', { 'flox.dev/environment': DEV_ENVIRONMENT, 'flox.dev/disable-metrics': 'true' }, containerConfig({ name: 'app', image: STUB_IMAGE_NAME, command: ['sh', '-c', script], workingDir: '/work' }));
    expect(dev.exitCode).toBe(0);
    expect(dev.stdout).toBe(`cache=/run/flox-k8s/cache project=/work pkg=${ENV_DIR}/lib/pkgconfig:${ENV_DIR}/share/pkgconfig metrics=true\nok\n/work\n`);
    // The pod's annotation beats the manifest's mode; without disable-metrics nothing is set.
    const run = await runToEnd(node, 'parity-run', { 'flox.dev/environment': DEV_ENVIRONMENT, 'flox.dev/activate-mode': 'run' }, containerConfig({ name: 'app', image: STUB_IMAGE_NAME, command: ['sh', '-c', script] }));
    expect(run.stdout).toBe('cache=/run/flox-k8s/cache project=/ pkg=none metrics=unset\nok\n/\n');

    // kubectl exec sees the same.
    const pod = await podConfig(node, 'parity-exec', { 'flox.dev/environment': DEV_ENVIRONMENT });
    const podId = await node.cri.runPodSandbox(pod, 'flox');
    try {
      const id = await createAndStart(node.cri, podId, containerConfig({ name: 'shell', image: STUB_IMAGE_NAME, command: ['sleep', '300'], workingDir: '/srv' }), pod);
      const exec = await node.cri.execSync(id, ['sh', '-c', 'echo "$FLOX_ENV_CACHE $FLOX_ENV_PROJECT $PKG_CONFIG_PATH"'], 20);
      expect(exec.stdout.toString()).toBe(`/run/flox-k8s/cache /srv ${ENV_DIR}/lib/pkgconfig:${ENV_DIR}/share/pkgconfig\n`);
    } finally {
      await removePod(node.cri, podId);
    }
  }, 300_000);

  it('9. flox.dev/nix-mutable: the container writes under /nix/store and into closure paths; the node store keeps its bytes', async () => {
    const node = get();
    // The closure is realised by a plain container first, so the digest below covers all of it.
    expect((await runToEnd(node, 'mutable-warm', { 'flox.dev/environment': environment }, containerConfig({ name: 'app', image: STUB_IMAGE_NAME, command: ['hello-flox'] }))).exitCode).toBe(0);
    const store = join(node.storeRoot, 'store');
    const before = await treeDigest(store);
    const data = node.fixtures.storePaths.data;
    const greeting = `${data}/share/flox-fixture/greeting.txt`;
    const script = [
      'set -e',
      'echo added > /nix/store/new-entry',
      `echo changed > ${greeting}`,
      `rm ${data}/share/flox-fixture/numbers.txt`,
      'cat /nix/store/new-entry', `cat ${greeting}`, `ls ${data}/share/flox-fixture`,
      'hello-flox > /dev/null && echo still-runs',
    ].join('; ');
    const annotations = { 'flox.dev/environment': environment, 'flox.dev/nix-mutable': 'true' };
    const mutable = await runToEnd(node, 'mutable', annotations, containerConfig({ name: 'app', image: STUB_IMAGE_NAME, command: ['sh', '-c', script] }));
    expect(mutable.stdout).toBe('added\nchanged\ngreeting.txt\nnested\nstill-runs\n');
    expect(mutable.exitCode).toBe(0);
    expect(await treeDigest(store)).toBe(before);
    // Another container of the same environment sees none of it: the writes were that container's alone.
    const other = await runToEnd(node, 'mutable-other', annotations, containerConfig({ name: 'app', image: STUB_IMAGE_NAME, command: ['sh', '-c', `ls /nix/store/new-entry 2>&1 || true; head -c 5 ${greeting}`] }));
    expect(other.stdout).toMatch(/new-entry: No such file or directory\n/);
    expect(other.stdout).not.toContain('changed');
    // Both pods are gone: the next nix-mutable create swept their scratch layers.
    const scratch = join(node.storeRoot, 'mutable');
    const left = existsSync(scratch) ? await readdir(scratch) : [];
    expect(left.length).toBeLessThanOrEqual(1);
    await runToEnd(node, 'mutable-sweep', annotations, containerConfig({ name: 'app', image: STUB_IMAGE_NAME, command: ['true'] }));
    expect((await readdir(scratch)).filter((n) => left.includes(n))).toEqual([]);
  }, 300_000);

  it('10. an environment on a real base image: the image’s files, user, workdir and PATH stay, the environment’s come first; ExecSync sees the same', async () => {
    const node = get();
    await node.containerd.importImage((await baseImage()).tarball);
    const script = 'hello-flox > /dev/null && echo env-program; image-tool; id -u; pwd; echo "$PATH"; command -v hello-flox; command -v image-tool; cat /etc/base-release';
    const pod = await podConfig(node, 'base-image', { 'flox.dev/environment': environment });
    const podId = await node.cri.runPodSandbox(pod, 'flox');
    try {
      const app = containerConfig({ name: 'app', image: BASE_IMAGE, command: ['sh', '-c', script] });
      const appId = await createAndStart(node.cri, podId, app, pod);
      expect((await waitForContainer(node.cri, appId, { timeoutMs: 120_000 })).exit_code).toBe(0);
      const expected = `env-program\nimage-tool from the image, uid 1000\n1000\n/app\n${ENV_DIR}/bin:${ENV_DIR}/sbin:/usr/local/bin:/bin\n${ENV_DIR}/bin/hello-flox\n/usr/local/bin/image-tool\nbase 1\n`;
      expect((await readContainerLog(containerLogPath(pod, app))).stdout.toString()).toBe(expected);
      const shell = containerConfig({ name: 'shell', image: BASE_IMAGE, command: ['sleep', '300'] });
      const shellId = await createAndStart(node.cri, podId, shell, pod);
      const exec = await node.cri.execSync(shellId, ['sh', '-c', script], 20);
      expect(exec.stderr.toString()).toBe('');
      expect(exec.stdout.toString()).toBe(expected);
    } finally {
      await removePod(node.cri, podId);
    }
  }, 300_000);
}

/**
 * A base image as a user would bring one: Debian's static busybox with a few applets, a program
 * of its own on its own PATH entry, a file, a non-root user and a working directory.
 */
async function baseImage(): ReturnType<typeof buildImage> {
  const busybox = await readFile('/bin/busybox');
  const applets = ['sh', 'id', 'echo', 'cat', 'pwd', 'sleep', 'true'];
  const entries: LayerEntry[] = [
    { type: 'file', path: 'bin/busybox', content: busybox, mode: 0o755 },
    ...applets.map((a): LayerEntry => ({ type: 'symlink', path: `bin/${a}`, target: 'busybox' })),
    { type: 'file', path: 'usr/local/bin/image-tool', content: '#!/bin/sh\necho "image-tool from the image, uid $(id -u)"\n', mode: 0o755 },
    { type: 'file', path: 'etc/base-release', content: 'base 1\n' },
    { type: 'directory', path: 'app', mode: 0o755 },
    { type: 'directory', path: 'tmp', mode: 0o1777 },
  ];
  return buildImage({ name: BASE_IMAGE, layers: [{ entries }], config: { env: ['PATH=/usr/local/bin:/bin'], user: '1000:1000', workingDir: '/app', cmd: ['sh'] } });
}
