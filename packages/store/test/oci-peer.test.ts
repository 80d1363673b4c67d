// The OCI peer of bench:large is a real pull: a real docker-registry on loopback, skopeo's push,
// containerd 2.x's CRI PullImage and its overlayfs unpack. This checks it end to end on the small
// Nix fixture, so the benchmark's figures come from the path it claims to measure.
import { mkdtemp, readdir, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { basename, join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { requireRoot, startRegistry } from '@flox-k8s/cri-harness';
import { nixFixtures, treeDigest } from '@flox-k8s/nix-fixtures';
import { freshContainerd, OCI_REPOSITORY, pushClosureImage, timedPull } from '../bench/oci-peer.ts';

// containerd needs root; under CI=true requireRoot throws instead of skipping.
const notRoot = requireRoot();

describe.skipIf(notRoot !== undefined)('OCI peer (docker-registry + skopeo + containerd 2.x CRI PullImage)', () => {
  it('pulls a one-layer-per-store-path image of the small closure: same layer digests, every blob served once, every store path unpacked', async () => {
    const fx = await nixFixtures();
    const registry = await startRegistry();
    try {
      const pushed = await pushClosureImage(registry, fx.closure, 'zstd', 'small');
      expect(pushed.image.layers).toHaveLength(fx.closure.length);
      expect(pushed.image.layers.every((l) => l.mediaType === 'application/vnd.oci.image.layer.v1.tar+zstd')).toBe(true);
      registry.resetTraffic();
      const root = await mkdtemp(join(tmpdir(), 'oci-peer-'));
      const containerd = await freshContainerd(root, [registry.countedHost]);
      try {
        const sample = await timedPull(containerd, `${registry.countedHost}/${OCI_REPOSITORY}:small`, fx.closure.length);
        expect(sample.wallS).toBeGreaterThan(0);
        expect(sample.rssMb).toBeGreaterThan(10);

        const manifest = JSON.parse((await containerd.ctr(['-n', 'k8s.io', 'content', 'get', pushed.image.manifestDigest])).stdout) as {
          config: { digest: string; size: number };
          layers: Array<{ digest: string; size: number }>;
        };
        expect(manifest.config.digest).toBe(pushed.image.configDigest);
        expect(manifest.layers.map((l) => l.digest)).toEqual(pushed.image.layers.map((l) => l.digest));

        // What the registry served is exactly the config and each layer, once.
        const traffic = registry.traffic();
        expect([...traffic.blobGets.keys()].sort()).toEqual([pushed.image.configDigest, ...pushed.image.layers.map((l) => l.digest)].sort());
        expect([...traffic.blobGets.values()].every((n) => n === 1)).toBe(true);
        expect(traffic.blobBytes).toBe(pushed.layerBytes + manifest.config.size);

        // Each store path landed, byte for byte, in one overlayfs snapshot.
        const snapshots = join(root, 'root', 'io.containerd.snapshotter.v1.overlayfs', 'snapshots');
        const unpacked = new Map<string, string>();
        for (const id of await readdir(snapshots)) {
          for (const base of await readdir(join(snapshots, id, 'fs', 'nix', 'store')).catch(() => [])) unpacked.set(base, join(snapshots, id, 'fs', 'nix', 'store', base));
        }
        expect([...unpacked.keys()].sort()).toEqual(fx.closure.map((p) => basename(p)).sort());
        for (const path of fx.closure) expect(await treeDigest(unpacked.get(basename(path))!)).toBe(await treeDigest(path));
      } finally {
        await containerd.stop();
        await rm(root, { recursive: true, force: true });
      }
    } finally {
      await registry.stop();
    }
  }, 90_000);

  it('refuses a push of bytes that are not an OCI archive with FLOXK8S_E2E_REGISTRY_PUSH', async () => {
    const registry = await startRegistry();
    try {
      await expect(registry.pushOciArchive(new TextEncoder().encode('not a tar'), OCI_REPOSITORY, 'bad')).rejects.toMatchObject({ code: 'FLOXK8S_E2E_REGISTRY_PUSH' });
    } finally {
      await registry.stop();
    }
  });
});
