// Warm start: CRI CreateContainer+StartContainer until running, for a flox container
// whose closure is already in the store, versus the same command in a plain runc
// container from a local image, interleaved in the same run on one private containerd.
//   node --conditions=@flox-k8s/source bench/warm-start.ts [rounds=20] [containerd generation=1.6] [snapshot|esm]
// (`esm`: install without the interposer's startup snapshot, for comparison.)
import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { loadavg, tmpdir } from 'node:os';
import { join } from 'node:path';
import { nixFixtures, serveCache } from '@flox-k8s/nix-fixtures';
import type { ShimConfigInput } from '../src/config/schema.ts';
import { STUB_IMAGE_NAME, TEST_BUSYBOX_IMAGE_NAME } from '../src/image/index.ts';
import { installLayout } from '../src/install/layout.ts';
import { publishEnvironment } from '../src/sources/publish.ts';
import { containerConfig, criClient, hostNetworkPod, removePod, startContainerd, type ContainerdVersion } from '../../../e2e/src/harness/index.ts';
import { median, report } from './stats.ts';

const rounds = Number(process.argv[2] ?? 20);
const generation = (process.argv[3] ?? '1.6') as ContainerdVersion;
const snapshot = process.argv[4] !== 'esm';
const cleanups: Array<() => Promise<unknown>> = [];
try {
  const dir = await mkdtemp(join(tmpdir(), 'flox-bench-warm-'));
  cleanups.push(() => rm(dir, { recursive: true, force: true }));
  const fixtures = await nixFixtures();
  const cache = await serveCache(fixtures.caches.xz);
  cleanups.push(() => cache.close());
  await publishEnvironment(join(dir, 'hub'), 'acme', 'bench', fixtures.lockfile.bytes);
  const configPath = join(dir, 'config.json');
  const config: ShimConfigInput = {
    storeRoot: join(dir, 'store'),
    caches: [{ url: cache.url }],
    trustedKeys: [fixtures.publicKey],
    sources: [{ type: 'dir', path: join(dir, 'hub') }],
    agentSocket: join(dir, 'agent.sock'),
    logFile: join(dir, 'shim.log'),
  };
  await writeFile(configPath, JSON.stringify(config));
  const layout = await installLayout({ prefix: join(dir, 'install'), fromSource: true, config: configPath, compileCache: join(dir, 'cc'), runc: '/usr/sbin/runc', snapshot });
  const containerd = await startContainerd({
    version: generation,
    runtimes: [{ name: 'flox', runtimeType: 'io.containerd.flox.v2', podAnnotations: ['flox.dev/*'], containerAnnotations: ['flox.dev/*'] }],
    extraPath: [join(layout.prefix, 'bin')],
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

  // A third pod on the flox runtime without the annotation: what the launcher and the
  // runc front cost by themselves (no Node), as a diagnostic beside the main figure.
  const bareFloxPod = await hostNetworkPod({ name: 'bench-flox-bare', logDirectory: join(dir, 'logs-flox-bare') });
  const bareFloxPodId = await cri.runPodSandbox(bareFloxPod, 'flox');
  cleanups.push(() => removePod(cri, bareFloxPodId));
  type Kind = 'flox' | 'runc' | 'bare';
  const pods = { flox: [floxPodId, floxPod], runc: [runcPodId, runcPod], bare: [bareFloxPodId, bareFloxPod] } as const;

  const startOne = async (kind: Kind, n: number): Promise<number> => {
    const c = containerConfig({ name: `c${n}`, image: kind === 'flox' ? STUB_IMAGE_NAME : TEST_BUSYBOX_IMAGE_NAME, command: ['sleep', '300'] });
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
  for (let i = 0; i < 3; i++) {
    await startOne('flox', 1000 + i);
    await startOne('runc', 1000 + i);
    await startOne('bare', 1000 + i);
  }
  const flox: number[] = [];
  const plain: number[] = [];
  const bare: number[] = [];
  const loadBefore = loadavg()[0] ?? 0;
  for (let i = 0; i < rounds; i++) {
    if (i % 2 === 0) {
      flox.push(await startOne('flox', i));
      plain.push(await startOne('runc', i));
      bare.push(await startOne('bare', i));
    } else {
      bare.push(await startOne('bare', i));
      plain.push(await startOne('runc', i));
      flox.push(await startOne('flox', i));
    }
  }
  process.stdout.write(
    `warm start on containerd ${generation} (${containerd.binaries.packageVersion}), CreateContainer+StartContainer, ${rounds} rounds, interposer ${layout.snapshot === undefined ? 'ESM bundle' : 'startup snapshot'}, load average ${loadBefore.toFixed(2)} → ${(loadavg()[0] ?? 0).toFixed(2)}\n`,
  );
  const ok = report('flox (closure present) vs runc', flox, plain, 40);
  process.stdout.write(`  diagnostic: flox runtime without the annotation (launcher + fronts, no Node) ${median(bare).toFixed(1)} ms vs runc ${median(plain).toFixed(1)} ms\n`);
  process.stdout.write(`  flox min ${Math.min(...flox).toFixed(1)} ms, runc min ${Math.min(...plain).toFixed(1)} ms, flox p50 ${median(flox).toFixed(1)} ms\n`);
  // Where the interposer's time goes, as it logs it for each warm create.
  const entries = (await readFile(config.logFile as string, 'utf8'))
    .split('\n')
    .filter((l) => l.includes('"container patched"') && l.includes('"via":"cache"'))
    .map((l) => JSON.parse(l) as { timings: Record<string, number>; totalMs: number; sinceProcessStartMs: number })
    .slice(-rounds);
  const m = (pick: (e: (typeof entries)[number]) => number): string => median(entries.map(pick)).toFixed(1);
  process.stdout.write(
    `  interposer create (median of ${entries.length}): process start → runc exec ${m((e) => e.sinceProcessStartMs)} ms = node start-up ${m((e) => e.timings['nodeStart'] ?? 0)} ms + module load ${m((e) => e.timings['imports'] ?? 0)} ms + resolve/patch/write ${m((e) => e.totalMs)} ms\n`,
  );
  process.exitCode = ok ? 0 : 1;
} finally {
  for (const c of cleanups.reverse()) await c().catch(() => undefined);
}
