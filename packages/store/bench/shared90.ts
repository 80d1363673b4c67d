// A second environment sharing ~90% of the first one's store paths: environment A is the
// *large* fixture, B its `shared90` variant (tooling/nix-fixtures large-variant.ts: the same
// closure with ~10% of the paths moved to other store paths by salted derivations). With A
// already on the node (realised or pulled, not timed), what does starting B cost?
// - ours: our realise of B (as the node agent runs it) into the store that holds A, vs into a
//   fresh store (B's own cold start): compressed NAR bytes downloaded (realise's
//   bytesDownloaded) and wall time of the realising process;
// - OCI: containerd 2.x pulling image B, whose layers for the shared paths are image A's
//   (same bytes, same digests), after image A, vs into a fresh containerd: the blob bytes the
//   registry served (a counting proxy in front of docker-registry) and PullImage's wall.
// Every run uses a fresh store / containerd root on the medium; the scenarios are interleaved.
// Run (root, Nix): pnpm --filter @flox-k8s/store bench:shared [runs=5 [tmpfs-dir=/dev/shm] [disk-dir=/var/tmp] [zstd|gzip OCI layers]]
// Only under the shared machine's bench lock: flock /tmp/flox-bench.lock pnpm --filter @flox-k8s/store bench:shared
import { mkdirSync, mkdtempSync, readFileSync, renameSync, rmSync, writeFileSync } from 'node:fs';
import { basename, join } from 'node:path';
import { startRegistry } from '@flox-k8s/cri-harness';
import { nixLargeFixtures, type NixLargeFixtures } from '@flox-k8s/nix-fixtures';
import { median } from './synthetic.ts';
import { serveOutOfProcess } from './serve-out-of-process.ts';
import { runCaptured } from './run-captured.ts';
import { FETCH_PROCESS_ENV } from '@flox-k8s/nar/process-env';
import { bundleRealiseChild } from './bundle-child.ts';
import { freshContainerd, OCI_CONTAINERD, OCI_REPOSITORY, pushClosureImage, timedPull, type OciCompression } from './oci-peer.ts';

const argv = process.argv.slice(2).filter((a) => a !== '--');
const RUNS = Number(argv[0] ?? 5);
const MEDIA: Array<{ name: string; dir: string }> = [
  { name: 'tmpfs', dir: argv[1] ?? '/dev/shm' },
  { name: 'disk', dir: argv[2] ?? '/var/tmp' },
];
const LAYERS = (argv[3] ?? 'zstd') as OciCompression;
if (LAYERS !== 'zstd' && LAYERS !== 'gzip') throw new Error(`OCI layer compression ${String(LAYERS)}: expected zstd or gzip`);

const loadavg = (): string => readFileSync('/proc/loadavg', 'utf8').split(' ').slice(0, 3).join(' ');
const load1 = (): number => Number(readFileSync('/proc/loadavg', 'utf8').split(' ')[0]);
const dropped = new Set(['http_proxy', 'https_proxy', 'all_proxy', 'HTTP_PROXY', 'HTTPS_PROXY', 'ALL_PROXY']);
const baseEnv = Object.fromEntries(Object.entries(process.env).filter(([k]) => !dropped.has(k)));

const a = await nixLargeFixtures();
const b = await nixLargeFixtures({ variant: 'shared90' });
const inA = new Set(a.closure);
const shared = b.closure.filter((p) => inA.has(p));
const work = mkdtempSync(join(MEDIA[1]!.dir, 'flox-bench-shared-'));
console.log(`A = large: ${a.closure.length} paths, ${(a.narSize / 1e6).toFixed(0)} MB of NAR; B = large shared90: ${b.closure.length} paths, ${(b.narSize / 1e6).toFixed(0)} MB of NAR`);
console.log(`B shares ${shared.length} of its ${b.closure.length} paths with A (${((100 * shared.length) / b.closure.length).toFixed(1)}% by count); ${RUNS} runs; NARs zstd; OCI layers ${LAYERS}; containerd generation ${OCI_CONTAINERD}`);

interface Ours {
  fetched: number;
  bytesDownloaded: number;
  wallS: number;
}

// Bundled, as the agent ships (bench/bundle-child.ts), with the DaemonSet's malloc setting.
const child = await bundleRealiseChild(work);
const agentEnv = { ...baseEnv, ...FETCH_PROCESS_ENV };

/** Our realise of `fx` as the node agent runs it, in its own process (bench/large-realise-child.ts), into `root`. */
async function realise(fx: NixLargeFixtures, url: string, root: string): Promise<Ours> {
  const rootsFile = join(work, `roots-${fx === a ? 'a' : 'b'}.json`);
  writeFileSync(rootsFile, JSON.stringify(fx.roots));
  const t0 = performance.now();
  const stdout = await runCaptured(process.execPath, [child, 'agent', root, url, fx.publicKey, rootsFile], agentEnv);
  const wallS = (performance.now() - t0) / 1000;
  const out = JSON.parse(stdout.trim().split('\n').at(-1)!) as { fetched: number; bytesDownloaded: number };
  return { fetched: out.fetched, bytesDownloaded: out.bytesDownloaded, wallS };
}

const registry = await startRegistry({ parent: work });
const cacheA = await serveOutOfProcess(a.caches.zstd);
const cacheB = await serveOutOfProcess(b.caches.zstd);
type Scenario = 'ours B cold' | 'ours B after A' | 'oci B cold' | 'oci B after A';
const samples = new Map<string, Array<{ bytes: number; wallS: number; load: number }>>();
try {
  // Setup, not timed: image A and image B. B's layers for the shared paths are built from the
  // same store paths, so they are A's blobs byte for byte (the image writer is deterministic).
  const imageA = await pushClosureImage(registry, a.closure, LAYERS, 'a');
  const imageB = await pushClosureImage(registry, b.closure, LAYERS, 'b');
  const aDigests = new Set(imageA.image.layers.map((l) => l.digest));
  const sharedLayers = imageB.image.layers.filter((l) => aDigests.has(l.digest)).length;
  console.log(`image B: ${imageB.image.layers.length} layers, ${sharedLayers} of them image A's; ${(imageB.layerBytes / 1e6).toFixed(0)} MB of layers (A: ${(imageA.layerBytes / 1e6).toFixed(0)} MB)`);
  console.log(`load average at start: ${loadavg()}`);

  const run = async (scenario: Scenario, parent: string, tag: string): Promise<{ bytes: number; wallS: number }> => {
    const dir = join(parent, tag);
    if (scenario.startsWith('ours')) {
      if (scenario === 'ours B after A') {
        const first = await realise(a, cacheA.url, dir);
        if (first.fetched !== a.closure.length) throw new Error(`realise of A fetched ${first.fetched} of ${a.closure.length}`);
      }
      const got = await realise(b, cacheB.url, dir);
      const expected = scenario === 'ours B after A' ? b.closure.length - shared.length : b.closure.length;
      if (got.fetched !== expected) throw new Error(`${scenario}: fetched ${got.fetched} paths, expected ${expected}`);
      return { bytes: got.bytesDownloaded, wallS: got.wallS };
    }
    mkdirSync(dir);
    const containerd = await freshContainerd(dir, [registry.countedHost]);
    try {
      if (scenario === 'oci B after A') await timedPull(containerd, `${registry.countedHost}/${OCI_REPOSITORY}:a`, imageA.image.layers.length);
      registry.resetTraffic();
      const pull = await timedPull(containerd, `${registry.countedHost}/${OCI_REPOSITORY}:b`, imageB.image.layers.length);
      return { bytes: registry.traffic().blobBytes, wallS: pull.wallS };
    } finally {
      await containerd.stop();
    }
  };

  const scenarios: Scenario[] = ['ours B cold', 'ours B after A', 'oci B cold', 'oci B after A'];
  for (const medium of MEDIA) {
    const parent = mkdtempSync(join(medium.dir, 'flox-bench-shared-run-'));
    // As in large-vs-nix.ts: on ext4 finished stores are moved aside and deleted at the end, as
    // deleting ~350 MB of files slows the next run's creates; tmpfs has not the room to keep them.
    const trash = join(parent, 'trash');
    mkdirSync(trash);
    try {
      for (let r = 0; r < RUNS; r++) {
        for (let i = 0; i < scenarios.length; i++) {
          const scenario = scenarios[(i + r) % scenarios.length]!;
          const load = load1();
          const got = await run(scenario, parent, `${scenario.replaceAll(' ', '-')}-${r}`);
          const done = join(parent, `${scenario.replaceAll(' ', '-')}-${r}`);
          if (medium.name === 'tmpfs') rmSync(done, { recursive: true, force: true });
          else renameSync(done, join(trash, basename(done)));
          const key = `${medium.name}|${scenario}`;
          samples.set(key, [...(samples.get(key) ?? []), { ...got, load }]);
          console.log(`  ${medium.name} run ${r} ${scenario}: ${(got.bytes / 1e6).toFixed(1)} MB, wall ${got.wallS.toFixed(2)} s, load ${load.toFixed(2)}`);
        }
      }
    } finally {
      rmSync(parent, { recursive: true, force: true });
    }
  }
} finally {
  await Promise.all([cacheA.close(), cacheB.close(), registry.stop()]);
  rmSync(work, { recursive: true, force: true });
}

console.log(`\nload average at end: ${loadavg()}\n`);
console.log('| medium | peer | B cold: MB fetched | B after A: MB fetched | bytes ÷ own cold start | B cold: wall (s) | B after A: wall (s) | load (1 min) |');
console.log('|---|---|---|---|---|---|---|---|');
for (const medium of MEDIA) {
  for (const peer of ['ours', 'oci'] as const) {
    const cold = samples.get(`${medium.name}|${peer} B cold`)!;
    const after = samples.get(`${medium.name}|${peer} B after A`)!;
    const mb = (xs: Array<{ bytes: number }>): number => median(xs.map((x) => x.bytes)) / 1e6;
    const wall = (xs: Array<{ wallS: number }>): number => median(xs.map((x) => x.wallS));
    const loads = [...cold, ...after].map((x) => x.load);
    const label = peer === 'ours' ? 'ours (agent realise, zstd NARs)' : `OCI (containerd ${OCI_CONTAINERD} PullImage, ${LAYERS} layers)`;
    console.log(
      `| ${medium.name} | ${label} | ${mb(cold).toFixed(1)} | ${mb(after).toFixed(1)} | ${(mb(after) / mb(cold)).toFixed(3)} | ${wall(cold).toFixed(2)} | ${wall(after).toFixed(2)} | ${median(loads).toFixed(2)} (${Math.min(...loads).toFixed(2)}–${Math.max(...loads).toFixed(2)}) |`,
    );
  }
}
