// The OCI-image peer of the store benchmarks: a Nix closure packaged as an image with one layer
// per store path (each layer a tar of nix/store/<base>/…, as nix2container and nix-snapshotter
// images are), pushed once to Debian's docker-registry on loopback, and pulled + unpacked by a
// fresh containerd 2.x through CRI PullImage on each run — what a node without our store pays to
// start the same environment from an image.
import { lstat, mkdir, readFile, readlink, writeFile } from 'node:fs/promises';
import { basename, join } from 'node:path';
import { buildImage, TEST_PAUSE_IMAGE_NAME, type BuiltImage, type LayerEntry, type LayerSource } from '@flox-k8s/oci-image';
import {
  criClient,
  renderContainerdConfig,
  startContainerd,
  type ContainerdHandle,
  type ContainerdVersion,
  type LocalRegistry,
} from '@flox-k8s/cri-harness';

/** containerd 2.x: cri-harness's `2.1` generation (the newest 2.x Debian package, 2.1.9 today). */
export const OCI_CONTAINERD: ContainerdVersion = '2.1';
export type OciCompression = 'gzip' | 'zstd';
export const OCI_REPOSITORY = 'flox-bench/closure';

/** One layer's source: a store path directory under nix/store/<base>, or a lone file or symlink path. */
async function storePathLayer(path: string): Promise<LayerSource> {
  const prefix = `nix/store/${basename(path)}`;
  const st = await lstat(path);
  if (st.isDirectory()) return { directory: path, prefix };
  const entry: LayerEntry = st.isSymbolicLink()
    ? { type: 'symlink', path: prefix, target: await readlink(path) }
    : { type: 'file', path: prefix, content: await readFile(path), mode: st.mode & 0o7777 };
  return { entries: [entry] };
}

/** The image of a closure: one layer per store path, in the given order. */
export async function closureImage(paths: readonly string[], compression: OciCompression, tag: string): Promise<BuiltImage> {
  const layers = await Promise.all(paths.map(storePathLayer));
  return buildImage({ name: `${OCI_REPOSITORY}:${tag}`, layers, compression });
}

/** Image `tag` pushed to `registry`; `ref` is what CRI pulls (through the direct or the counting host). */
export interface PushedImage {
  tag: string;
  image: BuiltImage;
  /** Sum of the layer blob sizes: what a cold pull downloads, besides the config and manifest. */
  layerBytes: number;
}

export async function pushClosureImage(registry: LocalRegistry, paths: readonly string[], compression: OciCompression, tag: string): Promise<PushedImage> {
  const image = await closureImage(paths, compression, tag);
  await registry.pushOciArchive(image.tarball, OCI_REPOSITORY, tag);
  // Only the digests are needed from here on: let the tarball (hundreds of MB) go.
  const { tarball: _tarball, ...rest } = image;
  return { tag, image: { ...rest, tarball: new Uint8Array() }, layerBytes: image.layers.reduce((n, l) => n + l.size, 0) };
}

/** A fresh containerd whose content and snapshots live in `root` (a new dir on tmpfs or disk), pulling plain HTTP from `hosts`. */
export async function freshContainerd(root: string, hosts: readonly string[]): Promise<ContainerdHandle> {
  const certs = join(root, 'certs.d');
  for (const host of hosts) {
    await mkdir(join(certs, host), { recursive: true });
    // The registry is plain HTTP on loopback: without a hosts.toml naming http://, containerd 2.x
    // tries TLS first and falls back to HTTP (loopback only) on each new connection; this says http:// at once.
    await writeFile(join(certs, host, 'hosts.toml'), `server = "http://${host}"\n\n[host."http://${host}"]\n  capabilities = ["pull", "resolve"]\n`);
  }
  return startContainerd({
    version: OCI_CONTAINERD,
    importTestImages: false,
    config: (paths) =>
      renderContainerdConfig(OCI_CONTAINERD, { ...paths, root: join(root, 'root') }, {
        sandboxImage: TEST_PAUSE_IMAGE_NAME,
        plugins: { 'io.containerd.cri.v1.images': { registry: { config_path: certs } } },
      }),
  });
}

/** utime + stime of a process plus those of its reaped children (containerd may run unpigz), in seconds. */
async function treeCpu(pid: number): Promise<number> {
  const stat = await readFile(`/proc/${pid}/stat`, 'utf8');
  const f = stat.slice(stat.lastIndexOf(')') + 2).split(' ').map(Number);
  // Fields 14-17 of proc(5) (utime, stime, cutime, cstime), in clock ticks of 100 Hz.
  return (f[11]! + f[12]! + f[13]! + f[14]!) / 100;
}

async function vmHwmMb(pid: number): Promise<number> {
  const kb = /VmHWM:\s+(\d+)/.exec(await readFile(`/proc/${pid}/status`, 'utf8'))?.[1];
  if (kb === undefined) throw new Error(`no VmHWM in /proc/${pid}/status`);
  return Number(kb) / 1024;
}

export interface PullSample {
  wallS: number;
  cpuS: number;
  /** containerd's peak RSS over its life (start-up and the pull). */
  rssMb: number;
}

/** PullImage of `ref` on `containerd`, timed; checks that every layer was unpacked into a snapshot. */
export async function timedPull(containerd: ContainerdHandle, ref: string, layers: number): Promise<PullSample> {
  const pid = containerd.pid();
  const cri = criClient(containerd.socket, { deadlineMs: 15 * 60_000 });
  try {
    const cpu0 = await treeCpu(pid);
    const t0 = performance.now();
    await cri.pullImage(ref);
    const wallS = (performance.now() - t0) / 1000;
    const cpuS = (await treeCpu(pid)) - cpu0;
    const rssMb = await vmHwmMb(pid);
    const snapshots = await unpackedLayers(containerd);
    if (snapshots < layers) throw new Error(`containerd unpacked ${snapshots} snapshots for ${ref}, expected ≥ ${layers}`);
    return { wallS, cpuS, rssMb };
  } finally {
    cri.close();
  }
}

/** Committed snapshots in CRI's namespace: one per unpacked layer. */
export async function unpackedLayers(containerd: ContainerdHandle): Promise<number> {
  const { stdout } = await containerd.ctr(['-n', 'k8s.io', 'snapshots', 'ls']);
  return stdout.split('\n').filter((l) => /\sCommitted\s*$/.test(l)).length;
}

/**
 * A cold OCI pull into a fresh containerd rooted at `root`: the per-run sample of an `oci-*` peer.
 * containerd is stopped after; `root` is left for the caller to delete or set aside like the other peers' stores.
 */
export async function coldPull(registry: LocalRegistry, pushed: PushedImage, root: string): Promise<PullSample> {
  const containerd = await freshContainerd(root, [registry.host]);
  try {
    return await timedPull(containerd, `${registry.host}/${OCI_REPOSITORY}:${pushed.tag}`, pushed.image.layers.length);
  } finally {
    await containerd.stop();
  }
}
