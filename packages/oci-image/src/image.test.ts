import { createHash } from 'node:crypto';
import { mkdtemp, mkdir, rm, symlink, writeFile, chmod } from 'node:fs/promises';
import { execFileSync, spawn } from 'node:child_process';
import { once } from 'node:events';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { gunzipSync, zstdDecompressSync } from 'node:zlib';
import { afterEach, describe, expect, it } from 'vitest';
import { buildImage, entriesFromDirectory, layerTar, parseImageName, STUB_MOUNT_POINTS, stubImage, testPauseImage, type LayerEntry } from './index.ts';
import { readTar } from './test-tar.ts';

const sha = (b: Uint8Array): string => `sha256:${createHash('sha256').update(b).digest('hex')}`;

const entries: LayerEntry[] = [
  { type: 'file', path: 'bin/hello', content: '#!/bin/sh\necho hi\n', mode: 0o755 },
  { type: 'symlink', path: 'bin/hi', target: 'hello' },
  { type: 'file', path: '/etc/motd', content: new Uint8Array([1, 2, 3]) },
];

describe('buildImage', () => {
  it('gives identical bytes and digests for identical inputs, whatever the entry order', async () => {
    const a = await buildImage({ name: 'acme/app:1', layers: [{ entries }], config: { cmd: ['hello'] } });
    const b = await buildImage({ name: 'acme/app:1', layers: [{ entries: [...entries].reverse() }], config: { cmd: ['hello'] } });
    expect(Buffer.from(b.tarball).equals(Buffer.from(a.tarball))).toBe(true);
    expect(b.manifestDigest).toBe(a.manifestDigest);
  });

  it('changes the digest when the content or the mtime changes', async () => {
    const base = await buildImage({ name: 'acme/app:1', layers: [{ entries }] });
    const otherContent = await buildImage({ name: 'acme/app:1', layers: [{ entries: [{ type: 'file', path: 'x', content: 'y' }] }] });
    const otherTime = await buildImage({ name: 'acme/app:1', layers: [{ entries }], mtime: 1 });
    expect(new Set([base.manifestDigest, otherContent.manifestDigest, otherTime.manifestDigest]).size).toBe(3);
  });

  it('writes an OCI layout whose blobs match their digests and whose index names the image for containerd', async () => {
    const image = await buildImage({ name: 'acme/app:1', layers: [{ entries }], config: { entrypoint: ['/bin/hello'], env: ['A=1'] } });
    const files = new Map((await readTar(image.tarball)).map((e) => [e.name, e]));
    expect([...files.keys()]).toEqual([
      'blobs',
      'blobs/sha256',
      ...[...files.keys()].filter((n) => n.startsWith('blobs/sha256/')).sort(),
      'index.json',
      'manifest.json',
      'oci-layout',
    ]);
    for (const [name, e] of files) {
      expect(e.uid).toBe(0);
      expect(e.mtime).toBe(0);
      if (name.startsWith('blobs/sha256/')) expect(sha(e.body)).toBe(`sha256:${name.slice('blobs/sha256/'.length)}`);
    }
    const index = JSON.parse(files.get('index.json')!.body.toString());
    expect(index.manifests[0].digest).toBe(image.manifestDigest);
    expect(index.manifests[0].annotations).toEqual({ 'io.containerd.image.name': 'docker.io/acme/app:1', 'org.opencontainers.image.ref.name': '1' });
    const manifest = JSON.parse(files.get(`blobs/sha256/${image.manifestDigest.slice(7)}`)!.body.toString());
    expect(manifest.config.digest).toBe(image.configDigest);
    const config = JSON.parse(files.get(`blobs/sha256/${image.configDigest.slice(7)}`)!.body.toString());
    expect(config.config).toEqual({ Env: ['A=1'], Entrypoint: ['/bin/hello'] });
    const layer = files.get(`blobs/sha256/${manifest.layers[0].digest.slice(7)}`)!.body;
    expect(manifest.layers[0].mediaType).toBe('application/vnd.oci.image.layer.v1.tar+gzip');
    expect(config.rootfs.diff_ids).toEqual([sha(gunzipSync(layer))]);
    expect(JSON.parse(files.get('manifest.json')!.body.toString())).toEqual([
      { Config: `blobs/sha256/${image.configDigest.slice(7)}`, RepoTags: ['acme/app:1'], Layers: [`blobs/sha256/${manifest.layers[0].digest.slice(7)}`] },
    ]);
  });

  it('stores uncompressed layers when asked, with digest equal to diff id', async () => {
    const image = await buildImage({ name: 'acme/app:1', layers: [{ entries }], compression: 'none' });
    expect(image.layers[0]!.mediaType).toBe('application/vnd.oci.image.layer.v1.tar');
    expect(image.layers[0]!.digest).toBe(image.layers[0]!.diffId);
  });

  it('writes zstd layers (level 3, deterministic) whose diff id is the tar they decode to', async () => {
    const a = await buildImage({ name: 'acme/app:1', layers: [{ entries }], compression: 'zstd' });
    const b = await buildImage({ name: 'acme/app:1', layers: [{ entries }], compression: 'zstd' });
    expect(a.manifestDigest).toBe(b.manifestDigest);
    expect(a.layers[0]!.mediaType).toBe('application/vnd.oci.image.layer.v1.tar+zstd');
    const files = new Map((await readTar(Buffer.from(a.tarball))).map((e) => [e.name, e]));
    const blob = files.get(`blobs/sha256/${a.layers[0]!.digest.slice(7)}`)!.body;
    // The zstd frame magic, then the tar the config's diff id names.
    expect(blob.subarray(0, 4)).toEqual(Buffer.from([0x28, 0xb5, 0x2f, 0xfd]));
    expect(sha(zstdDecompressSync(blob))).toBe(a.layers[0]!.diffId);
  });

  it('rejects paths escaping the root, duplicate paths and bad names with FLOXK8S_IMAGE_INPUT_INVALID', async () => {
    const bad = [
      buildImage({ name: 'acme/app:1', layers: [{ entries: [{ type: 'file', path: '../x', content: '' }] }] }),
      buildImage({ name: 'acme/app:1', layers: [{ entries: [{ type: 'directory', path: 'a' }, { type: 'directory', path: '/a/' }] }] }),
      buildImage({ name: 'acme/app:1', layers: [{ entries: [{ type: 'file', path: 'a', content: '' }, { type: 'file', path: 'a/b', content: '' }] }] }),
      buildImage({ name: 'Acme/App:1', layers: [] }),
      buildImage({ name: 'acme/app@sha256:00', layers: [] }),
      buildImage({ name: 'acme/app:1', layers: [], config: { env: ['NOEQUALS'] } }),
    ];
    for (const p of bad) await expect(p).rejects.toMatchObject({ code: 'FLOXK8S_IMAGE_INPUT_INVALID' });
  });
});

describe('layerTar', () => {
  it('adds missing parent directories, sorts by path and stamps fixed owner and time', async () => {
    const tar = await readTar(await layerTar(entries, { mtime: 42 }));
    expect(tar.map((e) => [e.name, e.type, e.mode.toString(8)])).toEqual([
      ['bin', 'directory', '755'],
      ['bin/hello', 'file', '755'],
      ['bin/hi', 'symlink', '777'],
      ['etc', 'directory', '755'],
      ['etc/motd', 'file', '644'],
    ]);
    expect(tar.every((e) => e.uid === 0 && e.gid === 0 && e.mtime === 42)).toBe(true);
    expect(tar[2]!.linkname).toBe('hello');
    expect([...tar[4]!.body]).toEqual([1, 2, 3]);
  });
});

describe('entriesFromDirectory', () => {
  let dir: string | undefined;
  afterEach(async () => {
    if (dir) await rm(dir, { recursive: true, force: true });
  });

  it('gives the same layer as the equivalent listed entries', async () => {
    dir = await mkdtemp(join(tmpdir(), 'flox-image-test-'));
    await mkdir(join(dir, 'bin'));
    await mkdir(join(dir, 'etc'));
    await writeFile(join(dir, 'bin', 'hello'), '#!/bin/sh\necho hi\n');
    await chmod(join(dir, 'bin', 'hello'), 0o755);
    await symlink('hello', join(dir, 'bin', 'hi'));
    await writeFile(join(dir, 'etc', 'motd'), new Uint8Array([1, 2, 3]));
    await chmod(join(dir, 'etc', 'motd'), 0o644);
    await chmod(join(dir, 'bin'), 0o755);
    await chmod(join(dir, 'etc'), 0o755);
    const fromDir = await buildImage({ name: 'acme/app:1', layers: [{ directory: dir }] });
    const fromList = await buildImage({ name: 'acme/app:1', layers: [{ entries }] });
    expect(fromDir.layers[0]!.diffId).toBe(fromList.layers[0]!.diffId);
    const prefixed = await entriesFromDirectory(dir, '/opt/app/');
    expect(prefixed.map((e) => e.path)).toEqual(['opt/app/bin', 'opt/app/bin/hello', 'opt/app/bin/hi', 'opt/app/etc', 'opt/app/etc/motd']);
  });

  it('refuses a fifo with FLOXK8S_IMAGE_SOURCE_UNSUPPORTED', async () => {
    dir = await mkdtemp(join(tmpdir(), 'flox-image-test-'));
    execFileSync('mkfifo', [join(dir, 'pipe')]);
    await expect(entriesFromDirectory(dir)).rejects.toMatchObject({ code: 'FLOXK8S_IMAGE_SOURCE_UNSUPPORTED' });
  });
});

describe('parseImageName', () => {
  it.each([
    ['flox/empty:1.0.0', 'docker.io/flox/empty:1.0.0', 'flox/empty:1.0.0'],
    ['busybox', 'docker.io/library/busybox:latest', 'busybox:latest'],
    ['flox-k8s.test/pause:1', 'flox-k8s.test/pause:1', 'flox-k8s.test/pause:1'],
    ['localhost:5000/a/b:v2', 'localhost:5000/a/b:v2', 'localhost:5000/a/b:v2'],
  ])('%s → %s', (input, full, familiar) => {
    expect(parseImageName(input)).toMatchObject({ full, familiar });
  });
});

describe('builders', () => {
  it('stubImage is flox/empty:1.0.0 with one layer holding only its mount points, stable across builds', async () => {
    const a = await stubImage();
    const b = await stubImage();
    expect(a.name.full).toBe('docker.io/flox/empty:1.0.0');
    expect(b.manifestDigest).toBe(a.manifestDigest);
    expect(b.tarball).toEqual(a.tarball);
    expect(a.layers).toHaveLength(1);
    const files = await readTar(a.tarball);
    const layer = files.find((f) => f.name === `blobs/sha256/${a.layers[0]!.digest.slice(7)}`)!;
    const entries = await readTar(gunzipSync(layer.body));
    // Directories (with their parents) and empty files: no program, no library, nothing to run.
    expect(entries.map((e) => `${e.name} ${e.type} ${e.mode.toString(8)} ${e.body.length} ${e.uid}:${e.gid}`)).toEqual([
      'dev directory 755 0 0:0',
      'etc directory 755 0 0:0',
      'etc/hostname file 644 0 0:0',
      'etc/hosts file 644 0 0:0',
      'etc/resolv.conf file 644 0 0:0',
      'nix directory 755 0 0:0',
      'nix/store directory 755 0 0:0',
      'proc directory 755 0 0:0',
      'run directory 755 0 0:0',
      'run/flox-k8s directory 755 0 0:0',
      'run/flox-k8s/cache directory 755 0 0:0',
      'run/flox-k8s/env directory 755 0 0:0',
      'sys directory 755 0 0:0',
      'var directory 755 0 0:0',
      'var/run directory 755 0 0:0',
      'var/run/secrets directory 755 0 0:0',
      'var/run/secrets/kubernetes.io directory 755 0 0:0',
      'var/run/secrets/kubernetes.io/serviceaccount directory 755 0 0:0',
    ]);
    expect(STUB_MOUNT_POINTS.filter((p) => !entries.some((e) => e.name === p.replace(/\/$/, '')))).toEqual([]);
  });

  it('testPauseImage waits until SIGTERM and then exits 0', async () => {
    const image = await testPauseImage();
    expect(image.name.full).toBe('flox-k8s.test/pause:1');
    const files = new Map((await readTar(image.tarball)).map((e) => [e.name, e]));
    const config = JSON.parse(files.get(`blobs/sha256/${image.configDigest.slice(7)}`)!.body.toString());
    const [program, ...args] = config.config.Entrypoint as string[];
    expect(program).toBe('/bin/busybox');
    // Run the entrypoint on the host in its own process group (so its sleep child is reaped too).
    const child = spawn(program!, args, { detached: true, stdio: 'ignore', env: { PATH: '/nonexistent' } });
    try {
      await new Promise((r) => setTimeout(r, 300));
      expect(child.exitCode).toBe(null);
      const exited = once(child, 'exit');
      child.kill('SIGTERM');
      const [code] = (await Promise.race([exited, new Promise((_, reject) => setTimeout(() => reject(new Error('no exit within 5 s')), 5000))])) as [number];
      expect(code).toBe(0);
    } finally {
      try {
        process.kill(-child.pid!, 'SIGKILL');
      } catch {
        // group already gone
      }
    }
  });
});
