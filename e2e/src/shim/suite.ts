// The issue-7 acceptance scenarios, registered once per containerd generation
// (containerd-16/17/21.test.ts), each against one private containerd.
import { existsSync } from 'node:fs';
import { readdir, readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { floxhubAuthorization } from '@flox-k8s/git-server';
import { FIXTURE_ACTIVATION, nixFixtures } from '@flox-k8s/nix-fixtures';
import { STUB_IMAGE_NAME, TEST_BUSYBOX_IMAGE_NAME } from '@flox-k8s/oci-image';
import {
  containerConfig,
  containerLogPath,
  generationPattern,
  inGeneration,
  readContainerLog,
  removePod,
  requireRoot,
  waitForContainer,
  type ContainerdVersion,
} from '@flox-k8s/cri-harness';
import { ENVIRONMENT, startFloxNode, type FloxNode } from './flox-node.ts';
import { FLOXHUB_TOKEN, startFloxhub, type Floxhub } from './floxhub.ts';
import { createAndStart, podConfig, stubImageRef } from './pod-helpers.ts';
import { defineParityCases } from './parity-cases.ts';

const ENV_DIR = '/run/flox-k8s/env';

export function defineShimSuite(version: ContainerdVersion): void {
  describe.skipIf(requireRoot())(`flox runtime on containerd ${version}`, () => {
    let node: FloxNode;
    let floxhub: Floxhub;
    let corruptedNar: string | undefined;
    beforeAll(async () => {
      floxhub = await startFloxhub((await nixFixtures()).lockfile.bytes);
      node = await startFloxNode({
        version,
        variants: [
          {
            name: 'floxcorrupt',
            // Flip bytes in the first NAR requested: its hash cannot match.
            onCacheRequest: (req, res) => {
              const path = req.url ?? '';
              if (!path.startsWith('/nar/') || (corruptedNar !== undefined && corruptedNar !== path)) return false;
              corruptedNar = path;
              const file = join(node.fixtures.caches.xz, path);
              void readFile(file).then((bytes) => {
                const bad = Buffer.from(bytes);
                for (let i = 64; i < bad.length; i += 97) bad[i] = (bad[i] ?? 0) ^ 0xff;
                res.writeHead(200, { 'content-length': bad.length }).end(bad);
              });
              return true;
            },
          },
          { name: 'floxfresh' },
          // Environments from a FloxHub stand-in: floxmeta over git smart HTTP, with a token.
          { name: 'floxgit', config: { sources: floxhub.sources } },
        ],
      });
    });
    afterAll(async () => {
      await node?.stop();
      await floxhub?.close();
    });

    it(`runs a containerd ${generationPattern(version)} (the version is reported)`, async ({ annotate }) => {
      const runtimeVersion = (await node.cri.version()).runtime_version;
      expect(inGeneration(version, runtimeVersion)).toBe(true);
      await annotate(`containerd ${version}: ${node.containerd.binaries.upstreamVersion} (Debian ${node.containerd.binaries.packageVersion})`);
    });

    it('1. ctr run: a closure program in the empty stub rootfs', async () => {
      const image = await stubImageRef(node);
      const { stdout } = await node.containerd.ctr([
        '-n', 'k8s.io', 'run', '--rm', '--runtime', 'io.containerd.flox.v2',
        '--annotation', `flox.dev/environment=${ENVIRONMENT}`,
        image, `ctr-run-${version.replace('.', '')}`, 'sh', '-c', 'hello-flox; ls /',
      ]);
      expect(stdout).toMatch(/hello/i);
      // Nothing from an image: only what runc and the patch put there.
      expect(stdout).not.toMatch(/^(bin|usr|lib)$/m);
      expect(stdout).toMatch(/^nix$/m);
    });

    it('2+6. CRI pod: environment PATH, hook, ExecSync; skipped container unchanged; stub image used', async () => {
      const { cri } = node;
      const pod = await podConfig(node, `flox-pod`, { 'flox.dev/environment': ENVIRONMENT, 'flox.dev/skip-containers': 'plain' });
      const podId = await cri.runPodSandbox(pod, 'flox');
      try {
        const app = containerConfig({
          name: 'app',
          image: STUB_IMAGE_NAME,
          command: ['hello-flox'],
        });
        const appId = await cri.createContainer(podId, app, pod);
        await cri.startContainer(appId);
        const plain = containerConfig({
          name: 'plain',
          image: TEST_BUSYBOX_IMAGE_NAME,
          command: ['sh', '-c', 'echo "path=$PATH flox=${FLOX_ENV:-none}"; ls /nix 2>&1; true'],
        });
        const plainId = await cri.createContainer(podId, plain, pod);
        await cri.startContainer(plainId);
        await waitForContainer(cri, plainId);
        const appStatus = await waitForContainer(cri, appId);
        expect(appStatus.exit_code).toBe(0);
        expect((await readContainerLog(containerLogPath(pod, app))).stdout.toString()).toMatch(/hello/i);

        // A long-running container of the same pod for ExecSync.
        const shell = containerConfig({ name: 'shell', image: STUB_IMAGE_NAME, command: ['sleep', '300'] });
        const shellId = await cri.createContainer(podId, shell, pod);
        await cri.startContainer(shellId);
        const exec = await cri.execSync(shellId, ['sh', '-c', 'echo "$FLOX_ENV|$FLOX_FIXTURE_VAR|$FLOX_FIXTURE_HOOK"; command -v hello-flox; [ -e /bin ] || echo no-bin'], 20);
        expect(exec.stderr.toString()).toBe('');
        expect(exec.exitCode).toBe(0);
        expect(exec.stdout.toString().trim().split('\n')).toEqual([
          `${ENV_DIR}|${FIXTURE_ACTIVATION.vars.FLOX_FIXTURE_VAR}|${FIXTURE_ACTIVATION.hookExports.FLOX_FIXTURE_HOOK}`,
          `${ENV_DIR}/bin/hello-flox`,
          'no-bin',
        ]);

        const plainOut = (await readContainerLog(containerLogPath(pod, plain))).stdout.toString();
        expect(plainOut).toContain('flox=none');
        expect(plainOut).not.toContain(ENV_DIR);
        expect(plainOut).toMatch(/ls: \/nix: No such file or directory/);

        // 6: the stub image is in the image store and is what the containers ran.
        const stub = await cri.imageStatus(STUB_IMAGE_NAME);
        expect(stub).toBeDefined();
        const { status } = await cri.containerStatus(shellId);
        expect(status.image_ref).toBe(stub?.id);
      } finally {
        await removePod(cri, podId);
      }
    });

    it(`runtime_path form (io.containerd.runc.v2 + runtime_path) ${version === '1.6' ? 'is ignored by 1.6.20' : 'patches containers'}`, async () => {
      const { cri } = node;
      const pod = await podConfig(node, 'flox-path', { 'flox.dev/environment': ENVIRONMENT });
      const podId = await cri.runPodSandbox(pod, 'floxpath');
      try {
        const c = containerConfig({ name: 'app', image: STUB_IMAGE_NAME, command: ['hello-flox'] });
        const outcome = await createAndStart(cri, podId, c, pod).then(
          async (id) => (await waitForContainer(cri, id)).exit_code,
          () => 'failed' as const,
        );
        if (version === '1.6') {
          // 1.6.20 ignores runtime_path and runs the stock shim: nothing provides hello-flox.
          expect(outcome).not.toBe(0);
        } else {
          expect(outcome).toBe(0);
          expect((await readContainerLog(containerLogPath(pod, c))).stdout.toString()).toMatch(/hello/i);
        }
      } finally {
        await removePod(cri, podId);
      }
    });

    it('2b. the on-activate hook ran before the command', async () => {
      const { cri } = node;
      const pod = await podConfig(node, 'flox-hook', { 'flox.dev/environment': ENVIRONMENT });
      const podId = await cri.runPodSandbox(pod, 'flox');
      try {
        const c = containerConfig({ name: 'hook', image: STUB_IMAGE_NAME, command: ['sh', '-c', 'echo "hook=$FLOX_FIXTURE_HOOK vars=$FLOX_FIXTURE_VAR"'] });
        const id = await cri.createContainer(podId, c, pod);
        await cri.startContainer(id);
        expect((await waitForContainer(cri, id)).exit_code).toBe(0);
        expect((await readContainerLog(containerLogPath(pod, c))).stdout.toString()).toBe(
          `hook=${FIXTURE_ACTIVATION.hookExports.FLOX_FIXTURE_HOOK} vars=${FIXTURE_ACTIVATION.vars.FLOX_FIXTURE_VAR}\n`,
        );
      } finally {
        await removePod(cri, podId);
      }
    });

    it('3a. a missing environment fails CreateContainer with the reason', async () => {
      const { cri } = node;
      const pod = await podConfig(node, 'flox-missing', { 'flox.dev/environment': 'acme/does-not-exist' });
      const podId = await cri.runPodSandbox(pod, 'flox');
      try {
        const c = containerConfig({ name: 'app', image: STUB_IMAGE_NAME, command: ['hello-flox'] });
        const error = await createAndStart(cri, podId, c, pod).then(() => undefined, (e: unknown) => e as Error);
        expect(error?.message).toMatch(/flox-k8s: environment acme\/does-not-exist: FLOXK8S_ENV_NOT_FOUND: environment acme\/does-not-exist not found/);
      } finally {
        await removePod(cri, podId);
      }
    });

    it('3b. a corrupted NAR fails with the reason and leaves nothing partial in the store', async () => {
      const { cri } = node;
      const pod = await podConfig(node, 'flox-corrupt', { 'flox.dev/environment': ENVIRONMENT });
      const podId = await cri.runPodSandbox(pod, 'floxcorrupt');
      try {
        const c = containerConfig({ name: 'app', image: STUB_IMAGE_NAME, command: ['hello-flox'] });
        const error = await createAndStart(cri, podId, c, pod).then(() => undefined, (e: unknown) => e as Error);
        expect(error?.message).toMatch(/flox-k8s: environment acme\/fixture: FLOXK8S_[A-Z_]+: .*(hash|NarHash|mismatch|corrupt|invalid)/i);
      } finally {
        await removePod(cri, podId);
      }
      expect(corruptedNar).toBeDefined();
      const storeRoot = node.variants['floxcorrupt']?.storeRoot as string;
      const visible = await readdir(join(storeRoot, 'store')).catch(() => []);
      const closureBases = node.fixtures.closure.map((p) => p.slice('/nix/store/'.length));
      // Whatever is visible is a complete fixture path; the corrupted one is not among them.
      for (const entry of visible) expect(closureBases).toContain(entry);
      expect(visible.length).toBeLessThan(closureBases.length);
      expect(await readdir(join(storeRoot, 'tmp')).catch(() => [])).toEqual([]);
      expect(await readdir(join(storeRoot, 'profiles')).catch(() => [])).toEqual([]);
    });

    it('4. two pods with the same environment at once fetch each NAR once', async () => {
      const { cri } = node;
      const variant = node.variants['floxfresh'];
      const pods = await Promise.all([0, 1].map((i) => podConfig(node, `flox-twin-${i}`, { 'flox.dev/environment': ENVIRONMENT })));
      const podIds = await Promise.all(pods.map((pod) => cri.runPodSandbox(pod, 'floxfresh')));
      try {
        const containers = pods.map(() => containerConfig({ name: 'app', image: STUB_IMAGE_NAME, command: ['hello-flox'] }));
        const ids = await Promise.all(pods.map((pod, i) => createAndStart(cri, podIds[i] as string, containers[i] as never, pod)));
        for (const id of ids) expect((await waitForContainer(cri, id)).exit_code).toBe(0);
        for (const [i, pod] of pods.entries()) {
          expect((await readContainerLog(containerLogPath(pod, containers[i] as never))).stdout.toString()).toMatch(/hello/i);
        }
      } finally {
        for (const id of podIds) await removePod(cri, id);
      }
      const nars = (variant?.cache.requests ?? []).filter((r) => r.path.startsWith('/nar/')).map((r) => r.path);
      expect(nars.length).toBe(node.fixtures.closure.length);
      expect(new Set(nars).size).toBe(nars.length);
    });

    it('7. FloxHub environments (floxmeta over git): live, pinned and digest references run; a pinned one is read once', async () => {
      const { cri } = node;
      const hub = floxhub.server;
      /** Runs hello-flox in a pod naming `environment`; answers the lockfile digest the shim applied. */
      const run = async (name: string, environment: string): Promise<string> => {
        const pod = await podConfig(node, name, { 'flox.dev/environment': environment });
        const podId = await cri.runPodSandbox(pod, 'floxgit');
        try {
          const c = containerConfig({ name: 'app', image: STUB_IMAGE_NAME, command: ['sleep', '300'] });
          const id = await createAndStart(cri, podId, c, pod);
          const exec = await cri.execSync(id, ['hello-flox'], 20);
          expect(exec.exitCode).toBe(0);
          expect(exec.stdout.toString()).toMatch(/hello/i);
          // The running container's patched spec records the lockfile it was given.
          const bundle = join(node.containerd.paths.state, 'io.containerd.runtime.v2.task', 'k8s.io', id);
          const spec = JSON.parse(await readFile(join(bundle, 'config.json'), 'utf8')) as { annotations?: Record<string, string> };
          return spec.annotations?.['flox.dev/lockfile-digest'] ?? '';
        } finally {
          await removePod(cri, podId);
        }
      };
      const [first, live] = floxhub.digests;
      expect(await run('flox-hub-live', 'acme/fixture')).toBe(live);
      const before = hub.requests.length;
      expect(await run('flox-hub-pinned', 'acme/fixture:1')).toBe(first);
      expect(hub.requests.slice(before).map((r) => `${r.method} ${r.path}`)).toEqual(['GET /acme/floxmeta/info/refs', 'POST /acme/floxmeta/git-upload-pack']);
      // Pinned generations and digests are immutable: the node's cache answers, the hub hears nothing.
      const pinnedOnce = hub.requests.length;
      expect(await run('flox-hub-pinned-again', 'acme/fixture:1')).toBe(first);
      expect(await run('flox-hub-digest', `acme/fixture@sha256:${first}`)).toBe(first);
      expect(hub.requests.length).toBe(pinnedOnce);
      expect(hub.requests.every((r) => r.authorization === floxhubAuthorization(FLOXHUB_TOKEN))).toBe(true);
    });

    defineParityCases(() => node, ENVIRONMENT);

    it('5. a pod without the annotation behaves exactly as with runc', async () => {
      const { cri } = node;
      const script = 'env | sort; cat /proc/self/mountinfo | awk \'{print $5}\' | sort; exit 3';
      const outputs: string[] = [];
      for (const runtime of ['flox', 'runc']) {
        const pod = await podConfig(node, `plain-${runtime}`, {});
        const podId = await cri.runPodSandbox(pod, runtime);
        try {
          const c = containerConfig({ name: 'plain', image: TEST_BUSYBOX_IMAGE_NAME, command: ['sh', '-c', script] });
          const id = await createAndStart(cri, podId, c, pod);
          expect((await waitForContainer(cri, id)).exit_code).toBe(3);
          const bundle = join(node.containerd.paths.state, 'io.containerd.runtime.v2.task', 'k8s.io', id);
          expect(existsSync(join(bundle, 'flox-k8s-exec-plan.json'))).toBe(false);
          outputs.push((await readContainerLog(containerLogPath(pod, c))).stdout.toString());
        } finally {
          await removePod(cri, podId);
        }
      }
      expect(outputs[0]).not.toContain('FLOX');
      expect(outputs[0]).toBe(outputs[1]);
    });
  });
}
