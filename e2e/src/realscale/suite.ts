// Issue 13: environments at the size users run, through what ships (the installed, bundled shim
// layout; the bundled node agent as a process), with the agent's patch service and with no agent
// at all, on one containerd generation per test file (realscale-16/17/21.test.ts):
//   - large (138 paths, 344 MB, real ELF programs): the stub image's empty rootfs runs the closure's
//     programs, and a check inside the container proves every mounted file is Nix's;
//   - wide (1,058 paths): the container sees exactly the closure;
//   - GC at the high watermark while an in-process-realised container runs keeps its closure, and
//     collects it once the container is deleted;
// and the cold and warm start times of each, printed at the end.
import { readdir, readFile } from 'node:fs/promises';
import { basename, dirname, join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { nixFixtures, nixLargeFixtures, nixWideFixtures, serveCache, type FixtureProgram, type NixLargeFixtures, type NixWideFixtures } from '@flox-k8s/nix-fixtures';
import { STUB_IMAGE_NAME } from '@flox-k8s/oci-image';
import { Store } from '@flox-k8s/store';
import { containerConfig, hostNetworkPod, mountsUnder, removePod, requireRoot, type ContainerdVersion, type CriClient, type Mount } from '@flox-k8s/cri-harness';
import { CHECK_COMMAND, CHECK_MOUNT, writeClosureCheck } from './closure-check.ts';
import { startFloxHost, type FloxHost, type Variant, type VariantSpec } from './flox-host.ts';
import { recordStart, startTimesTable } from './start-times.ts';

type Compression = 'xz' | 'zstd';

export interface RealscaleMatrix {
  /** Compressions of the large closure's cache to run (each with and without the agent). */
  large: Compression[];
  /** The wide closure's compression. */
  wide: Compression;
}

const modes = [
  { agent: false, label: 'no agent' },
  { agent: true, label: 'agent' },
] as const;

interface Pod {
  podId: string;
  containerId: string;
  /** CreateContainer + StartContainer until running, ms. */
  startMs: number;
}

/** A pod of one container (`command`), created and started; times the container's create + start. */
async function startPod(cri: CriClient, variant: Variant, name: string, command: string[], mounts: Mount[] = [], env: Record<string, string> = {}): Promise<Pod> {
  const pod = await hostNetworkPod({ name, logDirectory: join(variant.dir, 'pods', `${name}-${Date.now()}`), annotations: { 'flox.dev/environment': variant.spec.source.environment } });
  const podId = await cri.runPodSandbox(pod, variant.spec.name);
  try {
    const config = containerConfig({ name: 'app', image: STUB_IMAGE_NAME, command, mounts, env });
    const started = performance.now();
    const containerId = await cri.createContainer(podId, config, pod);
    await cri.startContainer(containerId);
    return { podId, containerId, startMs: performance.now() - started };
  } catch (error) {
    await removePod(cri, podId).catch(() => undefined);
    throw error;
  }
}

/** Runs each program in the container (ExecSync, the environment's activation applies) and compares its stdout byte for byte. */
async function expectPrograms(cri: CriClient, containerId: string, programs: readonly FixtureProgram[]): Promise<void> {
  for (const program of programs) {
    const r = await cri.execSync(containerId, program.argv, 120);
    expect({ name: program.name, exitCode: r.exitCode, stdout: r.stdout.toString(), stderr: r.stderr.toString() }).toEqual({ name: program.name, exitCode: 0, stdout: program.stdout, stderr: '' });
  }
}

/** What patched the container: the agent's patch service, or the shim's own Node (in-process realise). */
async function expectPatchedBy(variant: Variant, containerId: string, cold: boolean): Promise<void> {
  if (variant.agent !== undefined) {
    const line = variant.agent.log.find((l) => l['msg'] === 'container patched' && l['containerId'] === containerId);
    expect(line).toMatchObject({ entry: 'service', via: cold ? 'agent' : 'cache' });
  } else {
    const line = (await variant.shimLog()).find((l) => l['msg'] === 'container patched' && l['containerId'] === containerId);
    expect(line).toMatchObject({ entry: 'module', via: cold ? 'in-process' : 'cache' });
  }
}

export function defineRealscaleSuite(version: ContainerdVersion, matrix: RealscaleMatrix): void {
  describe.skipIf(requireRoot())(`environments at real size on containerd ${version}, through the installed bundles`, () => {
    let large: NixLargeFixtures;
    let wide: NixWideFixtures;
    let host: FloxHost;
    let largeCheck: { dir: string; expected: string };
    const largeVariants: Array<{ name: string; compression: Compression; agent: boolean; label: string }> = [];
    const wideVariants: Array<{ name: string; agent: boolean; label: string }> = [];
    for (const mode of modes) {
      for (const compression of matrix.large) largeVariants.push({ name: `flox${mode.agent ? 'ag' : 'no'}large${compression}`, compression, ...mode });
      wideVariants.push({ name: `flox${mode.agent ? 'ag' : 'no'}wide`, ...mode });
    }

    beforeAll(async () => {
      large = await nixLargeFixtures();
      wide = await nixWideFixtures();
      const specs: VariantSpec[] = [
        ...largeVariants.map((v) => ({
          name: v.name,
          agent: v.agent,
          source: { environment: 'acme/large', lockfile: large.lockfile.bytes, cacheDir: large.caches[v.compression], publicKey: large.publicKey },
        })),
        ...wideVariants.map((v) => ({
          name: v.name,
          agent: v.agent,
          source: { environment: 'acme/wide', lockfile: wide.lockfile.bytes, cacheDir: wide.caches[matrix.wide], publicKey: wide.publicKey },
        })),
      ];
      host = await startFloxHost(version, specs);
      const dir = join(host.dir, 'check-large');
      largeCheck = { dir, expected: await writeClosureCheck(dir, large.listing) };
    }, 1_800_000);

    afterAll(async () => {
      await host?.stop();
      process.stdout.write(startTimesTable(version));
    });

    it('runs the shim as it ships and the agent from its bundle', ({ annotate }) => {
      void annotate(`shim layout: ${host.bundleOrigin === 'prebuilt' ? "pnpm build's prebuilt bundle" : 'bundled now (no prebuilt bundle)'}; containerd ${host.containerd.binaries.upstreamVersion}`);
      for (const v of Object.values(host.variants)) expect(v.layout.bundles.map((b) => basename(b))).toEqual(['fetch-worker.mjs', 'runc-interposer.mjs']);
    });

    for (const v of largeVariants) {
      it(`large, ${v.compression}, ${v.label}: the empty rootfs runs the closure's programs, every mounted file is Nix's; warm start`, async () => {
        const { cri } = host;
        const variant = host.variants[v.name] as Variant;
        const mounts = [{ container_path: CHECK_MOUNT, host_path: largeCheck.dir, readonly: true }];
        // An empty rootfs has no /etc/passwd: Nix's tools then need USER (execs share the container's env).
        const env = { USER: 'root' };
        const cold = await startPod(cri, variant, 'large-cold', ['sleep', '3600'], mounts, env);
        let warm: Pod | undefined;
        try {
          recordStart(version, { mode: v.label, closure: `large ${v.compression}`, kind: 'cold', ms: cold.startMs });
          await expectPatchedBy(variant, cold.containerId, true);
          expect(variant.cache.count(/^\/nar\//)).toBe(large.closure.length);
          // Before the programs: /nix/store is the read-only store view, so the check sees exactly the closure.
          const check = await cri.execSync(cold.containerId, CHECK_COMMAND, 900);
          expect({ exitCode: check.exitCode, stdout: check.stdout.toString(), stderr: check.stderr.toString() }).toEqual({ exitCode: 0, stdout: largeCheck.expected, stderr: '' });
          await expectPrograms(cri, cold.containerId, large.programs);

          warm = await startPod(cri, variant, 'large-warm', ['sleep', '3600'], mounts, env);
          recordStart(version, { mode: v.label, closure: `large ${v.compression}`, kind: 'warm', ms: warm.startMs });
          await expectPatchedBy(variant, warm.containerId, false);
          await expectPrograms(cri, warm.containerId, large.programs.slice(0, 1));
          expect(variant.cache.count(/^\/nar\//)).toBe(large.closure.length);

          // Issue 13 (3): every running flox container is a GC root, realised in-process too.
          if (!v.agent && v.compression === matrix.large.at(-1)) await gcWhileRunning(cri, variant, [cold, warm], largeCheck.expected);
        } finally {
          if (warm !== undefined) await removePod(cri, warm.podId);
          await removePod(cri, cold.podId);
        }
        if (!v.agent && v.compression === matrix.large.at(-1)) await gcAfterDelete(variant, large.closure);
      }, 1_800_000);
    }

    for (const v of wideVariants) {
      it(`wide, ${v.label}: the container starts and sees exactly the ${'1,058'} store paths; warm start`, async () => {
        const { cri } = host;
        const variant = host.variants[v.name] as Variant;
        const ls = wide.programs.find((p) => p.containerOnly === true) as FixtureProgram;
        const busybox = join(dirname(ls.argv[0] as string), 'busybox');
        const cold = await startPod(cri, variant, 'wide-cold', [busybox, 'sleep', '3600']);
        let warm: Pod | undefined;
        try {
          recordStart(version, { mode: v.label, closure: 'wide', kind: 'cold', ms: cold.startMs });
          await expectPatchedBy(variant, cold.containerId, true);
          expect(wide.closure.length).toBeGreaterThanOrEqual(1000);
          await expectPrograms(cri, cold.containerId, wide.programs);
          // With the agent, the first create's store view gets mounted on the host (in the
          // background); the warm create then binds that one tree instead of 1,058 paths.
          if (v.agent) await expectViewMounted(variant);
          warm = await startPod(cri, variant, 'wide-warm', [busybox, 'sleep', '3600']);
          recordStart(version, { mode: v.label, closure: 'wide', kind: 'warm', ms: warm.startMs });
          await expectPatchedBy(variant, warm.containerId, false);
          await expectPrograms(cri, warm.containerId, wide.programs);
          expect(variant.cache.count(/^\/nar\//)).toBe(wide.closure.length);
          if (v.agent) await expectWarmUsedView(cri, variant, warm.containerId, wide.closure, busybox);
        } finally {
          if (warm !== undefined) await removePod(cri, warm.podId);
          await removePod(cri, cold.podId);
        }
        if (v.agent) await gcUnmountsView(variant, wide.closure);
      }, 1_800_000);
    }
  });
}

/** Waits (bounded) for the agent's `store view mounted` line; the view then holds one mount per non-symlink path. */
async function expectViewMounted(variant: Variant): Promise<void> {
  const agent = variant.agent as NonNullable<Variant['agent']>;
  const deadline = Date.now() + 120_000;
  let line: Record<string, unknown> | undefined;
  while ((line = agent.log.find((l) => l['msg'] === 'store view mounted' || l['msg']?.toString().startsWith('store view mount failed'))) === undefined && Date.now() < deadline) {
    await new Promise((r) => setTimeout(r, 100));
  }
  expect(line?.['msg'], JSON.stringify(line)).toBe('store view mounted');
  const view = line?.['view'] as string;
  expect(view.startsWith(`${variant.storeRoot}/profiles/`)).toBe(true);
  expect((await mountsUnder(view)).length).toBe(line?.['mounts']);
  const metrics = await agent.metrics();
  expect(metrics).toContain(`flox_agent_store_view_mounts ${String(line?.['mounts'])}\n`);
  expect(metrics).toContain('flox_agent_store_view_events_total{event="mounted"} 1\n');
}

/**
 * The warm create bound the mounted view: its config.json has no per-path mount, the service
 * logged it, and in the container the closure is there, read-only.
 */
async function expectWarmUsedView(cri: CriClient, variant: Variant, containerId: string, closure: readonly string[], busybox: string): Promise<void> {
  const line = variant.agent?.log.find((l) => l['msg'] === 'container patched' && l['containerId'] === containerId);
  expect(line).toMatchObject({ entry: 'service', via: 'cache', mountedView: true });
  const listing = await cri.execSync(containerId, [busybox, 'ls', '/nix/store'], 60);
  expect(listing.stdout.toString().split('\n').filter(Boolean).sort()).toEqual(closure.map((p) => p.slice('/nix/store/'.length)).sort());
  const write = await cri.execSync(containerId, [busybox, 'touch', `${busybox}-written`], 60);
  expect(write.exitCode).not.toBe(0);
  expect(write.stderr.toString()).toMatch(/Read-only file system/);
  const store = await cri.execSync(containerId, [busybox, 'grep', ' /nix/store', '/proc/self/mountinfo'], 60);
  // One mount for /nix/store itself and one per store path that is not a symlink, all read-only, none shared with the host.
  const mounts = store.stdout.toString().split('\n').filter(Boolean);
  expect(mounts.length).toBeGreaterThan(closure.length / 2);
  for (const m of mounts) expect(m).not.toMatch(/shared:|master:/);
  for (const m of mounts.filter((l) => l.split(' ')[4] !== '/nix/store')) expect(m.split(' ')[5]).toMatch(/^ro,/);
}

/**
 * Once the pods are gone and the agent's realise lease is released (it holds a realised closure
 * for 15 minutes), GC takes the view down before the closure: no mount is left under the store root.
 */
async function gcUnmountsView(variant: Variant, closure: readonly string[]): Promise<void> {
  const store = await Store.open(variant.storeRoot);
  const leases = join(variant.storeRoot, 'roots', 'leases');
  for (const file of await readdir(leases)) {
    const { id } = JSON.parse(await readFile(join(leases, file), 'utf8')) as { id: string };
    expect(id).toMatch(/^realise-/);
    expect(store.release(id)).toBe(true);
  }
  const gc = await store.gc({ highWatermark: 0, lowWatermark: 0 });
  expect(gc.unmountedViews, JSON.stringify({ ...gc, deleted: gc.deleted.length })).toHaveLength(1);
  expect([...gc.deleted].sort()).toEqual([...closure].sort());
  expect(await mountsUnder(variant.storeRoot)).toEqual([]);
  // The agent's gauge no longer counts the view GC took down.
  expect(await (variant.agent as NonNullable<Variant['agent']>).metrics()).toContain('flox_agent_store_view_mounts 0\n');
}

/**
 * GC at the high watermark (everything unreachable goes) while two containers realised in-process
 * (no agent, so no lease) run: only unrelated garbage goes, their closure stays, and they keep working.
 */
async function gcWhileRunning(cri: CriClient, variant: Variant, pods: Pod[], checkOutput: string): Promise<void> {
  const small = await nixFixtures();
  const smallCache = await serveCache(small.caches.zstd);
  const store = await Store.open(variant.storeRoot);
  try {
    await store.realise([small.storePaths.script, small.storePaths.tree], { caches: [{ url: smallCache.url }], trustedKeys: [small.publicKey] });
  } finally {
    await smallCache.close();
  }
  const gc = await store.gc({ highWatermark: 0, lowWatermark: 0 });
  expect(gc.triggered).toBe(true);
  expect(gc.containerRoots).toEqual({ live: pods.length, released: 0 });
  expect([...gc.deleted].sort()).toEqual(small.closure);
  // The warm container: only node ran in it, which writes nothing under /nix/store.
  const check = await cri.execSync(pods[1]?.containerId as string, CHECK_COMMAND, 900);
  expect({ exitCode: check.exitCode, stdout: check.stdout.toString() }).toEqual({ exitCode: 0, stdout: checkOutput });
}

/** Once the containers are deleted (runc's state is gone), their roots are released and the closure is collectable. */
async function gcAfterDelete(variant: Variant, closure: readonly string[]): Promise<void> {
  const store = await Store.open(variant.storeRoot);
  const gc = await store.gc({ highWatermark: 0, lowWatermark: 0 });
  expect(gc.containerRoots).toEqual({ live: 0, released: 2 });
  expect([...gc.deleted].sort()).toEqual([...closure]);
  expect(await readdir(join(variant.storeRoot, 'store'))).toEqual([]);
}
