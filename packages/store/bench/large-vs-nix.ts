// Cold realise of the *large* fixture (138 paths, 344 MB of NAR, a real environment) from a
// loopback cache: Nix substituting the closure into a fresh store vs our realise as the node
// agent runs it and as the shim's no-agent fallback runs it. Every run is its own process under
// /usr/bin/time (wall, user+sys of the process tree, peak RSS), into a fresh store; the peers are
// interleaved (order rotated each run) on tmpfs and on the disk, for zstd and xz.
// Peer agent-running: the node agent as it runs on a node that has been up (large-realise-child.ts):
// its figures are the measured realise's alone (wall, process CPU, peak RSS from a VmHWM reset),
// not its process's start-up and earlier realise, as the OCI peers' are their PullImage call's.
// Peers oci-gzip and oci-zstd (not run by default; bench/oci-peer.ts): containerd 2.x pulling and
// unpacking the closure as an OCI image, one layer per store path, from docker-registry on
// loopback through CRI PullImage, a fresh containerd rooted on the medium each run. Their wall is
// the PullImage call (containerd already up), CPU and peak RSS are containerd's; they run in the
// first compression block only (their layers' compression is in their name).
// Peer agent-running-syncfs (not run by default): agent-running with the store's `fsync: 'syncfs'`
// (config `storeSync: syncfs`), one syncfs per realise instead of an fsync per file; on tmpfs,
// where the store does not fsync by default, it flushes (nothing) all the same.
// Peer agent-running-zlib (not run by default): agent-running with zstd decoded by Node's zlib, as
// before libzstd through koffi, for a same-run before/after.
// Run (root, Nix, /usr/bin/time): pnpm --filter @flox-k8s/store bench:large [runs=5 [tmpfs-dir=/dev/shm] [disk-dir=/var/tmp] [zstd,xz] [nix,agent,agent-running,shim[,shim-workers][,agent-running-syncfs][,agent-running-zlib][,oci-gzip,oci-zstd]]]
// Only under the shared machine's bench lock: flock /tmp/flox-bench.lock pnpm --filter @flox-k8s/store bench:large
import { mkdirSync, mkdtempSync, readdirSync, readFileSync, renameSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { nixCommand, nixLargeFixtures } from '@flox-k8s/nix-fixtures';
import { containerdBinaries, startRegistry, type LocalRegistry } from '@flox-k8s/cri-harness';
import { median } from './synthetic.ts';
import { coldPull, OCI_CONTAINERD, pushClosureImage, type OciCompression, type PushedImage } from './oci-peer.ts';
import { serveOutOfProcess } from './serve-out-of-process.ts';
import { runCaptured } from './run-captured.ts';
import { FETCH_PROCESS_ENV } from '@flox-k8s/nar/process-env';
import { bundleRealiseChild } from './bundle-child.ts';

// `pnpm bench:large -- …` may pass the `--` through.
const argv = process.argv.slice(2).filter((a) => a !== '--');
const RUNS = Number(argv[0] ?? 5);
const MEDIA: Array<{ name: string; dir: string }> = [
  { name: 'tmpfs', dir: argv[1] ?? '/dev/shm' },
  { name: 'disk', dir: argv[2] ?? '/var/tmp' },
];
const COMPRESSIONS = (argv[3] ?? 'zstd,xz').split(',') as Array<'zstd' | 'xz'>;
const PEERS = (argv[4] ?? 'nix,agent,agent-running,shim').split(',') as Peer[];
// shim-workers (not run by default): the shim's fallback with fetchWorkers: 2, as the old default ran zstd.
type Peer = 'nix' | 'agent' | 'agent-running' | 'agent-running-syncfs' | 'agent-running-zlib' | 'shim' | 'shim-workers' | 'oci-gzip' | 'oci-zstd';
const PEER_NAMES: readonly Peer[] = ['nix', 'agent', 'agent-running', 'agent-running-syncfs', 'agent-running-zlib', 'shim', 'shim-workers', 'oci-gzip', 'oci-zstd'];
/** The peers that are a running agent (an earlier realise first; their figures are the measured realise's). */
const runningAgent = (peer: Peer): boolean => peer.startsWith('agent-running');
for (const p of PEERS) if (!PEER_NAMES.includes(p)) throw new Error(`unknown peer ${p}; the peers are ${PEER_NAMES.join(', ')}`);
const ociCompression = (peer: Peer): OciCompression | undefined => (peer === 'oci-gzip' ? 'gzip' : peer === 'oci-zstd' ? 'zstd' : undefined);

interface Sample {
  wallS: number;
  cpuS: number;
  rssMb: number;
  load1: number;
  /** Our child's own realise (Store.open + realise), without process start-up: wall and CPU of its threads. */
  innerS?: number;
  innerCpuS?: number;
}

const load1 = (): number => Number(readFileSync('/proc/loadavg', 'utf8').split(' ')[0]);
const loadavg = (): string => readFileSync('/proc/loadavg', 'utf8').split(' ').slice(0, 3).join(' ');

/** Runs argv under GNU time; resolves to its figures and the command's stdout. */
async function timed(command: string, args: string[], env: NodeJS.ProcessEnv): Promise<{ sample: Sample; stdout: string }> {
  const timeFile = join(work, `time-${process.hrtime.bigint()}`);
  const load = load1();
  const stdout = await runCaptured('/usr/bin/time', ['-f', '%e %U %S %M', '-o', timeFile, command, ...args], env);
  const [wall, user, sys, rssKb] = readFileSync(timeFile, 'utf8').trim().split('\n').at(-1)!.split(' ').map(Number) as [number, number, number, number];
  rmSync(timeFile);
  return { sample: { wallS: wall, cpuS: user + sys, rssMb: rssKb / 1024, load1: load }, stdout };
}

const fixture = await nixLargeFixtures();
const work = mkdtempSync(join(MEDIA[1]!.dir, 'flox-bench-large-'));
const rootsFile = join(work, 'roots.json');
writeFileSync(rootsFile, JSON.stringify(fixture.roots));
// Our peers run bundled, as the agent and the shim ship; FLOXK8S_BENCH_FROM_SOURCE=1 runs the TypeScript sources instead.
const nodeArgs = process.env['FLOXK8S_BENCH_FROM_SOURCE'] === '1' ? ['--conditions=@flox-k8s/source', join(import.meta.dirname, 'large-realise-child.ts')] : [await bundleRealiseChild(work)];
const dropped = new Set(['http_proxy', 'https_proxy', 'all_proxy', 'HTTP_PROXY', 'HTTPS_PROXY', 'ALL_PROXY']);
const baseEnv = Object.fromEntries(Object.entries(process.env).filter(([k]) => !dropped.has(k)));

console.log(`large: ${fixture.closure.length} paths, ${(fixture.narSize / 1e6).toFixed(0)} MB of NAR; ${RUNS} runs; peers ${PEERS.join(', ')}; media ${MEDIA.map((m) => `${m.name}=${m.dir}`).join(', ')}`);

// Setup, not timed: build each OCI image (one layer per store path) and push it once.
let registry: LocalRegistry | undefined;
const images = new Map<OciCompression, PushedImage>();
const ociPeers = PEERS.filter((p) => ociCompression(p) !== undefined);
if (ociPeers.length > 0) {
  registry = await startRegistry({ parent: work });
  for (const peer of ociPeers) {
    const compression = ociCompression(peer)!;
    const t0 = performance.now();
    const pushed = await pushClosureImage(registry, fixture.closure, compression, `large-${compression}`);
    images.set(compression, pushed);
    console.log(`${peer}: ${pushed.image.layers.length} layers, ${(pushed.layerBytes / 1e6).toFixed(0)} MB of ${compression} layers, built and pushed to docker-registry ${registry.host} in ${((performance.now() - t0) / 1000).toFixed(1)} s`);
  }
  const binaries = await containerdBinaries(OCI_CONTAINERD);
  console.log(`OCI peers pull with containerd ${binaries.upstreamVersion} (${binaries.packageVersion}, cri-harness generation ${OCI_CONTAINERD})`);
}
console.log(`load average at start: ${loadavg()}`);

let decodersSaid = false;

async function runPeer(peer: Peer, url: string, parent: string, tag: string): Promise<{ sample: Sample; dir: string }> {
  const dir = join(parent, tag);
  const oci = ociCompression(peer);
  if (oci !== undefined) {
    const load = load1();
    const sample = await coldPull(registry!, images.get(oci)!, dir);
    return { sample: { ...sample, load1: load }, dir };
  }
  if (peer === 'nix') {
    // A fresh XDG cache: Nix must not answer narinfo lookups from its sqlite cache of an earlier run.
    const xdg = `${dir}-xdg`;
    mkdirSync(xdg, { recursive: true });
    const { command, args } = nixCommand('nix', ['copy', '--from', url, '--to', dir, '--option', 'trusted-public-keys', fixture.publicKey, ...fixture.roots]);
    const { sample } = await timed(command, args, { ...baseEnv, HOME: xdg, XDG_CACHE_HOME: xdg });
    rmSync(xdg, { recursive: true, force: true });
    const got = readdirSync(join(dir, 'nix', 'store')).filter((n) => !n.endsWith('.lock') && !n.startsWith('.')).length;
    if (got !== fixture.closure.length) throw new Error(`nix copy left ${got} paths in ${dir}, expected ${fixture.closure.length}`);
    return { sample, dir };
  }
  const { sample, stdout } = await timed(process.execPath, [...nodeArgs, peer, dir, url, fixture.publicKey, rootsFile], { ...baseEnv, ...FETCH_PROCESS_ENV });
  const out = JSON.parse(stdout.trim().split('\n').at(-1)!) as {
    fetched: number;
    realiseMs: number;
    realiseCpuMs: number;
    childCpuMs: number;
    vmHwmKb: number;
    xzDecoder: string;
    zstdDecoder: string;
  };
  if (out.fetched !== fixture.closure.length) throw new Error(`${peer} fetched ${out.fetched} of ${fixture.closure.length}`);
  if (!decodersSaid && peer !== 'agent-running-zlib') console.log(`decoders in our realise: xz ${out.xzDecoder}, zstd ${out.zstdDecoder}`);
  decodersSaid ||= peer !== 'agent-running-zlib';
  // With its xz subprocesses, as /usr/bin/time counts the process tree.
  const inner = { innerS: out.realiseMs / 1000, innerCpuS: (out.realiseCpuMs + out.childCpuMs) / 1000 };
  // A running agent's realise: the child's own figures of it (its VmHWM was reset just before).
  if (runningAgent(peer)) return { sample: { ...sample, wallS: inner.innerS, cpuS: inner.innerCpuS, rssMb: out.vmHwmKb / 1024, ...inner }, dir };
  return { sample: { ...sample, ...inner }, dir };
}

const results: Array<{ medium: string; compression: string; peer: Peer; samples: Sample[] }> = [];
try {
  for (const [block, compression] of COMPRESSIONS.entries()) {
    // The OCI peers do not read the Nix cache: once is enough.
    const peers = block === 0 ? PEERS : PEERS.filter((p) => ociCompression(p) === undefined);
    const cache = await serveOutOfProcess(fixture.caches[compression]);
    try {
      for (const medium of MEDIA) {
        const parent = mkdtempSync(join(medium.dir, 'flox-bench-large-run-'));
        // On ext4 finished stores are only moved aside and deleted at the end of the block: deleting
        // 344 MB of files makes the next run's creates slower (see README, "recently_deleted").
        // tmpfs has no such effect and not the room to keep them.
        const trash = join(parent, 'trash');
        mkdirSync(trash);
        const samples = new Map<Peer, Sample[]>(peers.map((p) => [p, []]));
        try {
          for (let run = 0; run < RUNS; run++) {
            for (let i = 0; i < peers.length; i++) {
              const peer = peers[(i + run) % peers.length]!;
              // Untimed: no peer starts with the dirty pages of the one before it still to write back.
              if (medium.name === 'disk') await runCaptured('sync', [], baseEnv);
              const { sample, dir } = await runPeer(peer, cache.url, parent, `${peer}-${run}`);
              samples.get(peer)!.push(sample);
              // agent-running's earlier realise left a second store beside its own.
              const stores: Array<[string, string]> = [[dir, `${peer}-${run}`]];
              if (runningAgent(peer)) stores.push([`${dir}-earlier`, `${peer}-${run}-earlier`]);
              for (const [store, name] of stores) {
                if (medium.name === 'tmpfs') rmSync(store, { recursive: true, force: true });
                else renameSync(store, join(trash, name));
              }
              console.log(`  ${medium.name} ${compression} run ${run} ${peer}: wall ${sample.wallS.toFixed(2)} s, cpu ${sample.cpuS.toFixed(2)} s, rss ${sample.rssMb.toFixed(0)} MB, load ${sample.load1.toFixed(2)}${sample.innerS === undefined ? '' : `, realise ${sample.innerS.toFixed(2)} s / ${sample.innerCpuS!.toFixed(2)} CPU-s`}`);
            }
          }
        } finally {
          rmSync(parent, { recursive: true, force: true });
        }
        for (const [peer, s] of samples) results.push({ medium: medium.name, compression, peer, samples: s });
      }
    } finally {
      await cache.close();
    }
  }
} finally {
  await registry?.stop();
  rmSync(work, { recursive: true, force: true });
}

const m = (xs: number[]): number => median(xs);
console.log(`\nload average at end: ${loadavg()}\n`);
console.log('| medium | compression | peer | wall (s) | ÷ nix | CPU user+sys (s) | ÷ nix | peak RSS (MB) | realise in-process: wall / CPU (s) | load (1 min) |');
console.log('|---|---|---|---|---|---|---|---|---|---|');
for (const r of results) {
  const nix = results.find((x) => x.medium === r.medium && x.compression === r.compression && x.peer === 'nix');
  const wall = m(r.samples.map((s) => s.wallS));
  const cpu = m(r.samples.map((s) => s.cpuS));
  const ratio = (x: number, n: number | undefined): string => (n === undefined || r.peer === 'nix' ? '' : (x / n).toFixed(2));
  const inner = r.samples.every((s) => s.innerS !== undefined)
    ? `${m(r.samples.map((s) => s.innerS!)).toFixed(2)} / ${m(r.samples.map((s) => s.innerCpuS!)).toFixed(2)}`
    : ociCompression(r.peer) === undefined ? '' : 'PullImage wall; containerd CPU, RSS';
  const loads = r.samples.map((s) => s.load1);
  console.log(
    `| ${r.medium} | ${r.compression} | ${r.peer} | ${wall.toFixed(2)} | ${ratio(wall, nix && m(nix.samples.map((s) => s.wallS)))} | ${cpu.toFixed(2)} | ${ratio(cpu, nix && m(nix.samples.map((s) => s.cpuS)))} | ${m(r.samples.map((s) => s.rssMb)).toFixed(0)} | ${inner} | ${m(loads).toFixed(2)} (${Math.min(...loads).toFixed(2)}–${Math.max(...loads).toFixed(2)}) |`,
  );
}
