// Issue 16.1 on real containerd, registered once per generation (closure-16/17/21.test.ts):
// a container sees exactly its closure. A validly signed symlink store path, a file store
// path, and a mount source replaced by a symlink after realise each give the right content or
// a coded failure, never a host file; the closure mounts are ro, nosuid, nodev inside a
// running container (its /proc/self/mountinfo).
import { existsSync, mkdirSync, readFileSync, renameSync, rmSync, symlinkSync, writeFileSync } from 'node:fs';
import { mkdtemp } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { narOf, storePathFor, storePathLockfile, writeSignedCache } from '@flox-k8s/hostile-nars';
import { formatSha256, nix32Encode, serializeNarinfo, signNarinfo } from '@flox-k8s/nar';
import { nixFixtures, serveCache, type NixFixtures, type ServedCache } from '@flox-k8s/nix-fixtures';
import { publishEnvironment } from '@flox-k8s/environments';
import { STUB_IMAGE_NAME } from '@flox-k8s/oci-image';
import { containerConfig, containerLogPath, readContainerLog, removePod, requireRoot, waitForContainer, type ContainerdVersion } from '@flox-k8s/cri-harness';
import { ENVIRONMENT, startFloxNode, type FloxNode } from './flox-node.ts';
import { createAndStart, podConfig } from './pod-helpers.ts';

const HOST_LINK = storePathFor('e2e-link-to-host-dir');
const STORE_LINK = storePathFor('e2e-link-to-busybox');
const FILE = storePathFor('e2e-a-file');
const PROFILE = '/run/flox-k8s/env';
const base = (p: string): string => p.slice('/nix/store/'.length);

export function defineClosureSuite(version: ContainerdVersion): void {
  describe.skipIf(requireRoot())(`a container sees exactly its closure (containerd ${version})`, () => {
    let fixtures: NixFixtures;
    let work: string;
    let hostOnly: string;
    let caches: ServedCache[] = [];
    let node: FloxNode;

    beforeAll(async () => {
      fixtures = await nixFixtures();
      work = await mkdtemp(join(tmpdir(), `flox-closure-e2e-${version.replace('.', '')}-`));
      // A directory only the host has: nothing of it may ever show in a container.
      hostOnly = join(work, 'host-only');
      mkdirSync(hostOnly);
      writeFileSync(join(hostOnly, 'secret.txt'), 'host only\n');
      writeSignedCache(
        join(work, 'odd-cache'),
        [
          { name: 'e2e-link-to-host-dir', nar: narOf({ type: 'symlink', target: hostOnly }), compression: 'xz' },
          { name: 'e2e-link-to-busybox', nar: narOf({ type: 'symlink', target: fixtures.storePaths.busybox }), compression: 'xz', references: [fixtures.storePaths.busybox] },
          // The file brings the link in as a reference: installed next to busybox, both would provide bin/.
          { name: 'e2e-a-file', nar: narOf({ type: 'regular', contents: 'a file store path\n' }), compression: 'zstd', references: [STORE_LINK] },
        ],
        readFileSync(fixtures.secretKeyFile, 'utf8'),
        { formatSha256, nix32Encode, serializeNarinfo, signNarinfo },
      );
      caches = [await serveCache(fixtures.caches.xz), await serveCache(join(work, 'odd-cache'))];
      node = await startFloxNode({ version, config: { caches: caches.map((c) => ({ url: c.url })) } });
      await publishEnvironment(node.hubDir, 'acme', 'odd', storePathLockfile({ busybox: fixtures.storePaths.busybox, hostlink: HOST_LINK, file: FILE }));
    });
    afterAll(async () => {
      await node?.stop();
      for (const c of caches) await c.close();
      if (work !== undefined) rmSync(work, { recursive: true, force: true });
      // Nothing left behind: the node's directory is gone with it.
      if (node !== undefined) expect(existsSync(node.dir)).toBe(false);
    });

    /** Runs `script` with busybox sh in a fresh CRI pod of `environment`; returns its stdout and exit code, or the create error. */
    async function run(name: string, environment: string, script: string): Promise<{ stdout: string; exitCode: number } | Error> {
      const pod = await podConfig(node, name, { 'flox.dev/environment': environment });
      const podId = await node.cri.runPodSandbox(pod, 'flox');
      try {
        const c = containerConfig({ name: 'app', image: STUB_IMAGE_NAME, command: ['sh', '-c', script] });
        const id = await createAndStart(node.cri, podId, c, pod).catch((e: unknown) => e as Error);
        if (id instanceof Error) return id;
        const status = await waitForContainer(node.cri, id);
        return { stdout: (await readContainerLog(containerLogPath(pod, c))).stdout.toString(), exitCode: status.exit_code };
      } finally {
        await removePod(node.cri, podId);
      }
    }

    it('a symlink store path is the same symlink, resolved in the container; a file store path is the file; /nix/store is exactly the closure', async () => {
      const out = await run('odd-paths', 'acme/odd', [
        `readlink /nix/store/${base(HOST_LINK)}`,
        `cat /nix/store/${base(HOST_LINK)}/secret.txt 2>/dev/null || echo no-host-file`,
        `/nix/store/${base(STORE_LINK)}/bin/busybox echo through-the-link`,
        `cat /nix/store/${base(FILE)}`,
        'ls /nix/store',
      ].join('; '));
      expect(out).not.toBeInstanceOf(Error);
      const { stdout, exitCode } = out as { stdout: string; exitCode: number };
      expect(exitCode).toBe(0);
      const closure = [fixtures.storePaths.busybox, HOST_LINK, STORE_LINK, FILE].map(base).sort();
      expect(stdout).toBe([hostOnly, 'no-host-file', 'through-the-link', 'a file store path', ...closure, ''].join('\n'));
      expect(stdout).not.toContain('host only');
    });

    it('every closure mount, the store view and the profile are ro, nosuid, nodev in a running container (mountinfo)', async () => {
      const out = await run('mountinfo', 'acme/odd', 'cat /proc/self/mountinfo');
      expect(out).not.toBeInstanceOf(Error);
      const options = new Map(
        (out as { stdout: string }).stdout.trim().split('\n').map((line) => {
          const fields = line.split(' ');
          return [fields[4] as string, (fields[5] as string).split(',')] as const;
        }),
      );
      const mounted = ['/nix/store', fixtures.storePaths.busybox, FILE, PROFILE];
      for (const point of mounted) expect([point, ...(options.get(point) ?? ['not mounted'])]).toEqual(expect.arrayContaining([point, 'ro', 'nosuid', 'nodev']));
      for (const link of [HOST_LINK, STORE_LINK]) expect(options.has(link)).toBe(false);
      // Nothing else under /nix/store: the closure's mounts and the view, no host path.
      expect([...options.keys()].filter((p) => p.startsWith('/nix/')).sort()).toEqual(['/nix/store', fixtures.storePaths.busybox, FILE].sort());
    });

    it('a mount source replaced by a symlink after realise: a coded CreateContainer failure, never the host directory', async () => {
      const first = await run('toctou-1', ENVIRONMENT, 'cat /nix/store/*-flox-fixture-data-1.0/share/flox-fixture/greeting.txt');
      expect(first).toMatchObject({ exitCode: 0 });
      const source = join(node.storeRoot, 'store', base(fixtures.storePaths.data));
      renameSync(source, `${source}.real`);
      symlinkSync(hostOnly, source);
      try {
        const out = await run('toctou-2', ENVIRONMENT, `cat ${fixtures.storePaths.data}/secret.txt; ls ${fixtures.storePaths.data}`);
        expect(out).toBeInstanceOf(Error);
        expect((out as Error).message).toMatch(
          new RegExp(`flox-k8s: environment ${ENVIRONMENT}: FLOXK8S_MOUNT_SOURCE_INVALID: mount source refused: store path ${fixtures.storePaths.data}: ${source} is a symlink`),
        );
      } finally {
        rmSync(source);
        renameSync(`${source}.real`, source);
      }
      // Put back as the store made it: the same environment runs again.
      expect(await run('toctou-3', ENVIRONMENT, 'cat /nix/store/*-flox-fixture-data-1.0/share/flox-fixture/greeting.txt')).toMatchObject({ exitCode: 0 });
    });
  });
}
