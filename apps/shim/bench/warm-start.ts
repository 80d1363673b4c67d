// Warm start: CRI CreateContainer+StartContainer until running, for a flox container
// whose closure is already in the store, versus the same command in a plain runc
// container from a local image, interleaved in the same run on one private containerd.
// The flox runtime hands create to the patch service, run in a Node process of its own
// as the node agent runs it; a second flox runtime without the service (the front's
// per-create Node fallback) is measured beside it as a diagnostic, and so is a third with the
// sh front alone (no compiled front) handing off to the same service. The floor: the plain runc
// container again with the very mounts the flox plan adds, as CRI mounts, so what runc itself
// pays for N bind mounts is not counted against the interposer.
//   node --conditions=@flox-k8s/source bench/warm-start.ts [rounds=20] [containerd generation=1.6] [fixture=small|wide]
// `wide`: nix-fixtures' wide closure (1,000+ store paths, so 1,000+ bind mounts).
// FLOXK8S_BENCH_VIEW_MIN_PATHS=<n>: config storeViewMounts.minPaths (default the config's default),
// e.g. 1 to measure a small closure with a mounted store view.
import { spawn } from 'node:child_process';
import { mkdtemp, readFile, readdir, rm, writeFile } from 'node:fs/promises';
import { loadavg, tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { nixFixtures, nixWideFixtures, serveCache } from '@flox-k8s/nix-fixtures';
import { parseConfig, type ShimConfigInput } from '@flox-k8s/config';
import { containerConfig, criClient, hostNetworkPod, removePod, startContainerd, unmountAll, type ContainerdVersion } from '@flox-k8s/cri-harness';
import { publishEnvironment } from '@flox-k8s/environments';
import { STUB_IMAGE_NAME, TEST_BUSYBOX_IMAGE_NAME } from '@flox-k8s/oci-image';
import { PLAN_CACHE_FORMAT } from '@flox-k8s/interposer';
import { planMounts, type PatchPlan } from '@flox-k8s/oci-patch';
import { installLayout } from '@flox-k8s/shim-layout';
import { shimPrograms } from '../src/programs.ts';
import { median, report } from './stats.ts';

const rounds = Number(process.argv[2] ?? 20);
const generation = (process.argv[3] ?? '1.6') as ContainerdVersion;
const fixture = process.argv[4] ?? 'small';
if (fixture !== 'small' && fixture !== 'wide') throw new Error(`fixture must be small or wide, not ${fixture}`);
// FLOXK8S_BENCH_RUN_DIR=<dir on tmpfs> (default /dev/shm; `disk`: all under os.tmpdir()): where containerd's
// state, the task bundles whose config.json the create patches, goes (cri-harness runParent). On a
// node it is in /run, a tmpfs. The rest of containerd (snapshots, content) stays under os.tmpdir(),
// on the disk here, and so do both runtimes' runc roots: the runc runtime's private one, and the
// flox runtimes' runc default /run/containerd/runc (not a tmpfs on this VM).
const runDirSetting = process.env['FLOXK8S_BENCH_RUN_DIR'] ?? '/dev/shm';
const runParent = runDirSetting === 'disk' ? undefined : runDirSetting;
const viewMinPaths = Number(process.env['FLOXK8S_BENCH_VIEW_MIN_PATHS'] ?? parseConfig({}).storeViewMounts.minPaths);
if (!Number.isInteger(viewMinPaths) || viewMinPaths < 1) throw new Error(`FLOXK8S_BENCH_VIEW_MIN_PATHS must be a positive integer, not ${process.env['FLOXK8S_BENCH_VIEW_MIN_PATHS']}`);
const cleanups: Array<() => Promise<unknown>> = [];
try {
  const dir = await mkdtemp(join(tmpdir(), 'flox-bench-warm-'));
  cleanups.push(() => rm(dir, { recursive: true, force: true }));
  const small = fixture === 'small' ? await nixFixtures() : undefined;
  const wide = fixture === 'wide' ? await nixWideFixtures() : undefined;
  const fixtures = (small ?? wide) as NonNullable<typeof small | typeof wide>;
  const cache = await serveCache(small?.caches.xz ?? (wide as NonNullable<typeof wide>).caches.zstd);
  cleanups.push(() => cache.close());
  await publishEnvironment(join(dir, 'hub'), 'acme', 'bench', fixtures.lockfile.bytes);
  // The small closure puts `sleep` on PATH; the wide one has busybox beside its `ls` program.
  const wideLs = wide?.programs.find((p) => p.containerOnly === true)?.argv[0];
  const sleep = wideLs === undefined ? ['sleep', '300'] : [join(dirname(wideLs), 'busybox'), 'sleep', '300'];
  const configPath = join(dir, 'config.json');
  const storeRoot = join(dir, 'store');
  const config: ShimConfigInput = {
    storeRoot,
    caches: [{ url: cache.url }],
    trustedKeys: [fixtures.publicKey],
    sources: [{ type: 'dir', path: join(dir, 'hub') }],
    agentSocket: join(dir, 'agent.sock'),
    logFile: join(dir, 'shim.log'),
    patchServiceDir: join(dir, 'patcher'),
    storeViewMounts: { minPaths: viewMinPaths, maxMounts: 8192 },
  };
  await writeFile(configPath, JSON.stringify(config));
  const layout = await installLayout({ programs: shimPrograms, prefix: join(dir, 'install'), fromSource: true, config: configPath, compileCache: join(dir, 'cc'), runc: '/usr/sbin/runc', patchServiceDir: config.patchServiceDir as string });
  // The fallback: the same front without a patch service, as containerd-shim-floxnode-v2.
  const nodeLayout = await installLayout({ programs: shimPrograms, prefix: join(dir, 'install-node'), fromSource: true, config: configPath, compileCache: join(dir, 'cc'), runc: '/usr/sbin/runc', patchServiceDir: '' });
  await writeFile(join(layout.prefix, 'bin', 'containerd-shim-floxnode-v2'), `#!/bin/sh\nexec '${nodeLayout.launcher}' "$@"\n`, { mode: 0o755 });
  if (!layout.compiledFront) throw new Error('the layout has no compiled runc front (no C compiler?): this bench measures it');
  // The sh front alone, handing off to the same service, as containerd-shim-floxsh-v2.
  const shLayout = await installLayout({ programs: shimPrograms, prefix: join(dir, 'install-sh'), fromSource: true, config: configPath, compileCache: join(dir, 'cc'), runc: '/usr/sbin/runc', patchServiceDir: config.patchServiceDir as string, compiledFront: false });
  await writeFile(join(layout.prefix, 'bin', 'containerd-shim-floxsh-v2'), `#!/bin/sh\nexec '${shLayout.launcher}' "$@"\n`, { mode: 0o755 });

  const service = spawn(process.execPath, ['--conditions=@flox-k8s/source', new URL('patch-service-process.ts', import.meta.url).pathname, configPath], { stdio: ['ignore', 'pipe', 'inherit'] });
  cleanups.push(async () => {
    service.kill('SIGTERM');
    await new Promise((r) => service.once('exit', r));
  });
  await new Promise<void>((resolve, reject) => {
    service.stdout.once('data', () => resolve());
    service.once('exit', (code) => reject(new Error(`patch service exited ${code}`)));
  });

  const annotations = ['flox.dev/*'];
  const containerd = await startContainerd({
    version: generation,
    runtimes: [
      { name: 'flox', runtimeType: 'io.containerd.flox.v2', podAnnotations: annotations, containerAnnotations: annotations },
      { name: 'floxnode', runtimeType: 'io.containerd.floxnode.v2', podAnnotations: annotations, containerAnnotations: annotations },
      { name: 'floxsh', runtimeType: 'io.containerd.floxsh.v2', podAnnotations: annotations, containerAnnotations: annotations },
    ],
    extraPath: [join(layout.prefix, 'bin')],
    // As on a node: the task bundles (where the create's spec is patched) on tmpfs (/run).
    ...(runParent === undefined ? {} : { runParent }),
  });
  cleanups.push(() => containerd.stop());
  const cri = criClient(containerd.socket, { deadlineMs: 120_000 });
  cleanups.push(async () => cri.close());

  const floxPod = await hostNetworkPod({ name: 'bench-flox', logDirectory: join(dir, 'logs-flox'), annotations: { 'flox.dev/environment': 'acme/bench' } });
  const runcPod = await hostNetworkPod({ name: 'bench-runc', logDirectory: join(dir, 'logs-runc') });
  const floxPodId = await cri.runPodSandbox(floxPod, 'flox');
  cleanups.push(() => removePod(cri, floxPodId));
  const runcPodId = await cri.runPodSandbox(runcPod, 'runc');
  cleanups.push(() => removePod(cri, runcPodId));
  const nodePod = await hostNetworkPod({ name: 'bench-flox-node', logDirectory: join(dir, 'logs-flox-node'), annotations: { 'flox.dev/environment': 'acme/bench' } });
  const nodePodId = await cri.runPodSandbox(nodePod, 'floxnode');
  cleanups.push(() => removePod(cri, nodePodId));
  const shPod = await hostNetworkPod({ name: 'bench-flox-sh', logDirectory: join(dir, 'logs-flox-sh'), annotations: { 'flox.dev/environment': 'acme/bench' } });
  const shPodId = await cri.runPodSandbox(shPod, 'floxsh');
  cleanups.push(() => removePod(cri, shPodId));

  // A third pod on the flox runtime without the annotation: what the launcher and the
  // runc front cost by themselves (no Node), as a diagnostic beside the main figure.
  const bareFloxPod = await hostNetworkPod({ name: 'bench-flox-bare', logDirectory: join(dir, 'logs-flox-bare') });
  const bareFloxPodId = await cri.runPodSandbox(bareFloxPod, 'flox');
  cleanups.push(() => removePod(cri, bareFloxPodId));
  const floorPod = await hostNetworkPod({ name: 'bench-runc-mounts', logDirectory: join(dir, 'logs-runc-mounts') });
  const floorPodId = await cri.runPodSandbox(floorPod, 'runc');
  cleanups.push(() => removePod(cri, floorPodId));
  // With a mounted store view (wide): runc with only the view (one recursive bind) and the profile.
  const floorViewPod = await hostNetworkPod({ name: 'bench-runc-view', logDirectory: join(dir, 'logs-runc-view') });
  const floorViewPodId = await cri.runPodSandbox(floorViewPod, 'runc');
  cleanups.push(() => removePod(cri, floorViewPodId));
  type Kind = 'flox' | 'sh' | 'node' | 'runc' | 'bare' | 'floor' | 'floorView';
  const pods = {
    flox: [floxPodId, floxPod],
    sh: [shPodId, shPod],
    node: [nodePodId, nodePod],
    runc: [runcPodId, runcPod],
    bare: [bareFloxPodId, bareFloxPod],
    floor: [floorPodId, floorPod],
    floorView: [floorViewPodId, floorViewPod],
  } as const;
  // The floor's mounts are the plan's, known once the first flox start has cached it.
  let floorMounts: Array<{ container_path: string; host_path: string; readonly: boolean }> = [];
  let floorViewMounts: typeof floorMounts = [];

  const startOne = async (kind: Kind, n: number): Promise<number> => {
    const flox = kind === 'flox' || kind === 'sh' || kind === 'node';
    const c = containerConfig({ name: `c${n}`, image: flox ? STUB_IMAGE_NAME : TEST_BUSYBOX_IMAGE_NAME, command: flox ? sleep : ['sleep', '300'], mounts: kind === 'floor' ? floorMounts : kind === 'floorView' ? floorViewMounts : [] });
    const [podId, pod] = pods[kind];
    const t = performance.now();
    const id = await cri.createContainer(podId, c, pod);
    await cri.startContainer(id);
    const ms = performance.now() - t;
    await cri.stopContainer(id, 0);
    await cri.removeContainer(id);
    return ms;
  };
  // Warm-up: realise the closure, build the profile and plan, fill compile caches.
  await startOne('flox', 999);
  const planDir = join(storeRoot, 'shim', `plans-f${PLAN_CACHE_FORMAT}`);
  const planFiles = (await readdir(planDir)).filter((f) => f.endsWith('.json'));
  if (planFiles.length !== 1) throw new Error(`expected one cached plan in ${planDir}, found ${planFiles.join(', ')}`);
  const plan = JSON.parse(await readFile(join(planDir, planFiles[0] as string), 'utf8')) as PatchPlan;
  floorMounts = planMounts(plan).map((m) => ({ container_path: m.destination, host_path: m.source ?? '', readonly: true }));
  // A closure of storeViewMounts.minPaths or more: the service mounts its view after that first
  // create (in the background); the measured creates bind it. Wait for it, bounded.
  const record = `${plan.storeView.hostPath}.mounts.json`;
  const viewExpected = floorMounts.length - 2 >= viewMinPaths;
  for (let i = 0; viewExpected && i < 600 && !(await readFile(record).then(() => true, () => false)); i++) await new Promise((r) => setTimeout(r, 100));
  cleanups.push(() => unmountAll(dir));
  floorViewMounts = planMounts({ ...plan, storeView: { ...plan.storeView, mounted: true } }).map((m) => ({ container_path: m.destination, host_path: m.source ?? '', readonly: true }));
  const kinds: Kind[] = viewExpected ? ['flox', 'sh', 'node', 'runc', 'bare', 'floor', 'floorView'] : ['flox', 'sh', 'node', 'runc', 'bare', 'floor'];
  for (let i = 0; i < 3; i++) for (const kind of kinds) await startOne(kind, 1000 + i);
  const samples: Record<Kind, number[]> = { flox: [], sh: [], node: [], runc: [], bare: [], floor: [], floorView: [] };
  const loadBefore = loadavg()[0] ?? 0;
  for (let i = 0; i < rounds; i++) {
    // Alternate the order so drift hits every kind alike.
    for (const kind of i % 2 === 0 ? kinds : [...kinds].reverse()) samples[kind].push(await startOne(kind, i));
  }
  process.stdout.write(
    `warm start of the ${fixture} closure (${floorMounts.length} bind mounts) on containerd ${generation} (${containerd.binaries.packageVersion}), state ${runParent === undefined ? `on the disk (${tmpdir()})` : `in ${runParent}`}, CreateContainer+StartContainer, ${rounds} rounds, load average ${loadBefore.toFixed(2)} → ${(loadavg()[0] ?? 0).toFixed(2)}\n`,
  );
  const target = fixture === 'wide' ? 30 : 8;
  const ok = report('flox via patch service vs runc', samples.flox, samples.runc, target);
  report('floor: runc + the same mounts', samples.floor, samples.runc, target);
  report('flox via patch service vs floor', samples.flox, samples.floor, target);
  if (viewExpected) {
    report('floor: runc + the mounted view', samples.floorView, samples.runc, target);
    report('flox via patch service vs that', samples.flox, samples.floorView, target);
  }
  report('diag: the sh front alone via patch service', samples.sh, samples.runc, target);
  report('diag: per-create Node (ESM bundle)', samples.node, samples.runc, target);
  process.stdout.write(`  diagnostic: flox runtime without the annotation (launcher + fronts, no Node) ${median(samples.bare).toFixed(1)} ms vs runc ${median(samples.runc).toFixed(1)} ms\n`);
  process.stdout.write(`  min: service ${Math.min(...samples.flox).toFixed(1)} ms, per-create Node ${Math.min(...samples.node).toFixed(1)} ms, runc ${Math.min(...samples.runc).toFixed(1)} ms\n`);
  // Where the time goes, as each warm create logs it.
  type Entry = { entry: string; timings: Record<string, number>; totalMs: number; sinceProcessStartMs: number; mountedView?: boolean };
  const entries = (await readFile(config.logFile as string, 'utf8'))
    .split('\n')
    .filter((l) => l.includes('"container patched"') && l.includes('"via":"cache"'))
    .map((l) => JSON.parse(l) as Entry);
  const m = (of: Entry[], pick: (e: Entry) => number): string => median(of.map(pick)).toFixed(1);
  // Both flox runtimes hand off to the service: the last 2 × rounds entries are theirs.
  const viaService = entries.filter((e) => e.entry === 'service').slice(-2 * rounds);
  const viaNode = entries.filter((e) => e.entry !== 'service').slice(-rounds);
  process.stdout.write(`  creates that bound the mounted store view: service ${viaService.filter((e) => e.mountedView === true).length}/${viaService.length}, per-create Node ${viaNode.filter((e) => e.mountedView === true).length}/${viaNode.length}\n`);
  process.stdout.write(`  patch service (median of ${viaService.length}): request read → patched ${m(viaService, (e) => e.sinceProcessStartMs - (e.timings['nodeStart'] ?? 0))} ms (resolve/patch/write ${m(viaService, (e) => e.totalMs)} ms)\n`);
  const phases = [...new Set(viaService.flatMap((e) => Object.keys(e.timings)))].filter((k) => k !== 'nodeStart');
  // `imports` of a service entry: request line read → create started (the reply hand-shake, config.json read).
  process.stdout.write(`  patch service phases (medians, ms): ${phases.map((k) => `${k === 'imports' ? 'handshake' : k} ${m(viaService, (e) => e.timings[k] ?? 0)}`).join(', ')}\n`);
  process.stdout.write(
    `  per-create Node (median of ${viaNode.length}): process start → runc exec ${m(viaNode, (e) => e.sinceProcessStartMs)} ms = node start-up ${m(viaNode, (e) => e.timings['nodeStart'] ?? 0)} ms + module load ${m(viaNode, (e) => e.timings['imports'] ?? 0)} ms + resolve/patch/write ${m(viaNode, (e) => e.totalMs)} ms\n`,
  );
  process.exitCode = ok ? 0 : 1;
} finally {
  for (const c of cleanups.reverse()) await c().catch(() => undefined);
}
