import { mkdir, mkdtemp, readFile, readlink, rm, stat, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { stubImage, type BuiltImage } from '@flox-k8s/oci-image';
import { afterEach, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { chooseInstallTarget, getPath, loadConfigChain, parseConfig } from '@flox-k8s/containerd-config';
import { type HostActions, type InstallOptions, installRuntime, readInstallState, uninstallRuntime } from './host-install.ts';
import { ociArchitecture } from './stub-image.ts';

let root: string;
let stub: BuiltImage;
/** A recording stand-in for containerd's k8s.io image store: name → digest, and what was imported/removed. */
let images: Map<string, string>;
let imported: Uint8Array[];
let removed: string[];
let importWorks: boolean;
const listing = (): string =>
  `REF TYPE DIGEST SIZE PLATFORMS LABELS \n${[...images].map(([ref, digest]) => `${ref} application/vnd.oci.image.manifest.v1+json ${digest} 402.0 B linux/amd64 -`).join('\n')}\n`;
const stock = (version: string): string =>
  version.startsWith('2')
    ? "version = 3\n[plugins.'io.containerd.cri.v1.runtime'.containerd.runtimes.runc]\n  runtime_type = 'io.containerd.runc.v2'\n"
    : 'version = 2\n[plugins."io.containerd.grpc.v1.cri".containerd.runtimes.runc]\n  runtime_type = "io.containerd.runc.v2"\n';

/** Host actions that record restarts instead of touching a real containerd (the real one is in e2e). */
function recordingActions(version: string): HostActions & { restarts: number } {
  const actions = {
    restarts: 0,
    containerdVersion: async () => `containerd github.com/containerd/containerd v${version} deadbeef\n`,
    containerdConfigDefault: async () => stock(version),
    restartContainerd: async () => {
      actions.restarts += 1;
    },
    listImages: async () => listing(),
    importImage: async (tarball: Uint8Array) => {
      imported.push(tarball);
      if (importWorks) images.set(stub.name.full, stub.manifestDigest);
    },
    removeImage: async (name: string) => {
      removed.push(name);
      images.delete(name);
    },
  };
  return actions;
}

async function options(): Promise<InstallOptions> {
  const layout = join(root, 'layout');
  await mkdir(join(layout, 'bin'), { recursive: true });
  await writeFile(join(layout, 'bin', 'containerd-shim-flox-v2'), '#!/bin/sh\n', { mode: 0o755 });
  await writeFile(join(root, 'node'), 'node-binary', { mode: 0o755 });
  return {
    hostRoot: join(root, 'host'),
    containerdConfig: '/etc/containerd/config.toml',
    installDir: '/opt/flox-k8s',
    shimLayout: layout,
    nodeBinary: join(root, 'node'),
    shimLinkDir: '/usr/local/bin',
    files: { 'etc/shim.json': { content: '{}\n' } },
    runtimeName: 'flox',
    annotations: ['flox.dev/*'],
    dropInName: 'zz-flox-k8s.toml',
  };
}

const host = (p: string): string => join(root, 'host', p);

beforeAll(async () => {
  stub = await stubImage({ architecture: ociArchitecture() });
});

beforeEach(async () => {
  images = new Map([['docker.io/library/busybox:1.36', `sha256:${'b'.repeat(64)}`]]);
  imported = [];
  removed = [];
  importWorks = true;
  root = await mkdtemp(join(tmpdir(), 'flox-agent-install-'));
  await mkdir(host('/etc/containerd'), { recursive: true });
});
afterEach(async () => {
  await rm(root, { recursive: true, force: true });
});

describe('installRuntime / uninstallRuntime', () => {
  it('installs on 1.6.20 with a PATH symlink, is idempotent, and uninstall restores the bytes and mode', async () => {
    const original = `${stock('1.6.20')}# operator comment, no final newline`;
    await writeFile(host('/etc/containerd/config.toml'), original, { mode: 0o640 });
    const opts = await options();
    const actions = recordingActions('1.6.20');
    const first = await installRuntime(opts, actions);
    expect(first).toMatchObject({ configChanged: true, restarted: true, target: { kind: 'edit', path: '/etc/containerd/config.toml' } });
    const installed = await readFile(host('/etc/containerd/config.toml'), 'utf8');
    expect(getPath(parseConfig(installed, 'config.toml'), ['plugins', 'io.containerd.grpc.v1.cri', 'containerd', 'runtimes', 'flox', 'runtime_type'])).toBe('io.containerd.flox.v2');
    expect(await readlink(host('/usr/local/bin/containerd-shim-flox-v2'))).toBe('/opt/flox-k8s/shim/bin/containerd-shim-flox-v2');
    expect(await readFile(host('/opt/flox-k8s/node/bin/node'), 'utf8')).toBe('node-binary');
    expect(await readFile(host('/opt/flox-k8s/etc/shim.json'), 'utf8')).toBe('{}\n');

    const second = await installRuntime(opts, actions);
    expect(second).toMatchObject({ configChanged: false, restarted: false });
    expect(actions.restarts).toBe(1);

    const undone = await uninstallRuntime(opts, actions);
    expect(undone.config).toBe('restored');
    expect(await readFile(host('/etc/containerd/config.toml'), 'utf8')).toBe(original);
    expect((await stat(host('/etc/containerd/config.toml'))).mode & 0o777).toBe(0o640);
    await expect(readlink(host('/usr/local/bin/containerd-shim-flox-v2'))).rejects.toMatchObject({ code: 'ENOENT' });
    await expect(stat(host('/opt/flox-k8s'))).rejects.toMatchObject({ code: 'ENOENT' });
    expect(actions.restarts).toBe(2);
  });

  it('uses runtime_path on 2.x and no symlink', async () => {
    await writeFile(host('/etc/containerd/config.toml'), stock('2.1.9'));
    const opts = await options();
    await installRuntime(opts, recordingActions('2.1.9'));
    const doc = parseConfig(await readFile(host('/etc/containerd/config.toml'), 'utf8'), 'config.toml');
    expect(getPath(doc, ['plugins', 'io.containerd.cri.v1.runtime', 'containerd', 'runtimes', 'flox', 'runtime_path'])).toBe(
      '/opt/flox-k8s/shim/bin/containerd-shim-flox-v2',
    );
    await expect(readlink(host('/usr/local/bin/containerd-shim-flox-v2'))).rejects.toMatchObject({ code: 'ENOENT' });
  });

  it('creates a config from containerd defaults when there is none, and uninstall removes it', async () => {
    const opts = await options();
    const result = await installRuntime(opts, recordingActions('1.7.24'));
    expect(result.target.kind).toBe('create');
    expect(await readFile(host('/etc/containerd/config.toml'), 'utf8')).toContain(stock('1.7.24'));
    expect((await uninstallRuntime(opts, recordingActions('1.7.24'))).config).toBe('removed');
    await expect(stat(host('/etc/containerd/config.toml'))).rejects.toMatchObject({ code: 'ENOENT' });
  });

  it('a re-install after an operator edit makes that edit part of what uninstall restores', async () => {
    await writeFile(host('/etc/containerd/config.toml'), stock('1.7.24'));
    const opts = await options();
    await installRuntime(opts, recordingActions('1.7.24'));
    const installed = await readFile(host('/etc/containerd/config.toml'), 'utf8');
    await writeFile(host('/etc/containerd/config.toml'), installed.replace('version = 2\n', 'version = 2\n# operator edit\n'));
    const again = await installRuntime(opts, recordingActions('1.7.24'));
    expect(again.configChanged).toBe(false);
    expect((await uninstallRuntime(opts, recordingActions('1.7.24'))).config).toBe('restored');
    expect(await readFile(host('/etc/containerd/config.toml'), 'utf8')).toBe(stock('1.7.24').replace('version = 2\n', 'version = 2\n# operator edit\n'));
  });

  it('keeps edits made after install and removes only its block', async () => {
    await writeFile(host('/etc/containerd/config.toml'), stock('1.7.24'));
    const opts = await options();
    await installRuntime(opts, recordingActions('1.7.24'));
    const installed = await readFile(host('/etc/containerd/config.toml'), 'utf8');
    await writeFile(host('/etc/containerd/config.toml'), `# added later\n${installed}`);
    expect((await uninstallRuntime(opts, recordingActions('1.7.24'))).config).toBe('block-removed');
    expect(await readFile(host('/etc/containerd/config.toml'), 'utf8')).toBe(`# added later\n${stock('1.7.24')}`);
  });
});

describe('the stub image flox/empty:1.0.0', () => {
  it('is imported into k8s.io once, recorded, and removed by uninstall', async () => {
    await writeFile(host('/etc/containerd/config.toml'), stock('1.7.24'));
    const opts = await options();
    const first = await installRuntime(opts, recordingActions('1.7.24'));
    expect(first.stubImage).toEqual({ name: 'docker.io/flox/empty:1.0.0', digest: stub.manifestDigest, imported: true });
    expect(imported).toHaveLength(1);
    expect(Buffer.from(imported[0] as Uint8Array).equals(Buffer.from(stub.tarball))).toBe(true);
    expect((await readInstallState(opts))?.stubImage).toEqual(first.stubImage);
    // Idempotent: the same digest is there, nothing is imported again, and it is still ours to remove.
    expect((await installRuntime(opts, recordingActions('1.7.24'))).stubImage.imported).toBe(true);
    expect(imported).toHaveLength(1);
    expect((await uninstallRuntime(opts, recordingActions('1.7.24'))).stubImage).toBe('removed');
    expect(removed).toEqual(['docker.io/flox/empty:1.0.0']);
    expect([...images.keys()]).toEqual(['docker.io/library/busybox:1.36']);
  });

  it('leaves an image the node already had (an operator loaded it) in place at uninstall', async () => {
    images.set(stub.name.full, stub.manifestDigest);
    await writeFile(host('/etc/containerd/config.toml'), stock('1.7.24'));
    const opts = await options();
    expect((await installRuntime(opts, recordingActions('1.7.24'))).stubImage.imported).toBe(false);
    expect(imported).toEqual([]);
    expect((await uninstallRuntime(opts, recordingActions('1.7.24'))).stubImage).toBe('kept');
    expect(removed).toEqual([]);
  });

  it('replaces a stale image of the same name, and fails with a code when containerd does not list it after the import', async () => {
    images.set(stub.name.full, `sha256:${'0'.repeat(64)}`);
    await writeFile(host('/etc/containerd/config.toml'), stock('1.7.24'));
    const opts = await options();
    expect((await installRuntime(opts, recordingActions('1.7.24'))).stubImage).toMatchObject({ digest: stub.manifestDigest, imported: true });
    images.delete(stub.name.full);
    importWorks = false;
    await expect(installRuntime(opts, recordingActions('1.7.24'))).rejects.toMatchObject({ code: 'FLOXK8S_AGENT_STUB_IMAGE' });
  });
});

describe('imports', () => {
  it('puts the block in the last imported file that defines the CRI section (it would override the main one)', async () => {
    await writeFile(host('/etc/containerd/config.toml'), `imports = ["conf.d/*.toml"]\n${stock('1.7.24')}`);
    await mkdir(host('/etc/containerd/conf.d'));
    await writeFile(host('/etc/containerd/conf.d/10-mirrors.toml'), 'version = 2\n[plugins."io.containerd.grpc.v1.cri".registry]\n  config_path = "/etc/containerd/certs.d"\n');
    await writeFile(host('/etc/containerd/conf.d/20-other.toml'), 'version = 2\n[debug]\n  level = "info"\n');
    const chain = await loadConfigChain('/etc/containerd/config.toml', 2, (p) => host(p));
    expect(chain.map((f) => [f.path, f.definesCri])).toEqual([
      ['/etc/containerd/config.toml', true],
      ['/etc/containerd/conf.d/10-mirrors.toml', true],
      ['/etc/containerd/conf.d/20-other.toml', false],
    ]);
    expect(chooseInstallTarget(chain, 'zz-flox-k8s.toml')).toMatchObject({ kind: 'edit', path: '/etc/containerd/conf.d/10-mirrors.toml' });

    const opts = await options();
    const original = await readFile(host('/etc/containerd/conf.d/10-mirrors.toml'), 'utf8');
    await installRuntime(opts, recordingActions('1.7.24'));
    expect(await readFile(host('/etc/containerd/conf.d/10-mirrors.toml'), 'utf8')).toContain('runtimes.flox]');
    await uninstallRuntime(opts, recordingActions('1.7.24'));
    expect(await readFile(host('/etc/containerd/conf.d/10-mirrors.toml'), 'utf8')).toBe(original);
  });

  it('writes a drop-in matching the import glob when no file defines the CRI section', async () => {
    const main = 'version = 2\nimports = ["/etc/containerd/conf.d/*.toml"]\n';
    await writeFile(host('/etc/containerd/config.toml'), main);
    const opts = await options();
    const result = await installRuntime(opts, recordingActions('1.7.24'));
    expect(result.target).toMatchObject({ kind: 'drop-in', path: '/etc/containerd/conf.d/zz-flox-k8s.toml' });
    const dropIn = parseConfig(await readFile(host('/etc/containerd/conf.d/zz-flox-k8s.toml'), 'utf8'), 'zz-flox-k8s.toml');
    expect(getPath(dropIn, ['plugins', 'io.containerd.grpc.v1.cri', 'containerd', 'runtimes', 'flox', 'pod_annotations'])).toEqual(['flox.dev/*']);
    expect(await readFile(host('/etc/containerd/config.toml'), 'utf8')).toBe(main);
    await uninstallRuntime(opts, recordingActions('1.7.24'));
    await expect(stat(host('/etc/containerd/conf.d/zz-flox-k8s.toml'))).rejects.toMatchObject({ code: 'ENOENT' });
  });

  it('moves the block when a later import starts defining the CRI section', async () => {
    await writeFile(host('/etc/containerd/config.toml'), `imports = ["conf.d/*.toml"]\n${stock('1.7.24')}`);
    await mkdir(host('/etc/containerd/conf.d'));
    const opts = await options();
    await installRuntime(opts, recordingActions('1.7.24'));
    expect(await readFile(host('/etc/containerd/config.toml'), 'utf8')).toContain('runtimes.flox]');
    await writeFile(host('/etc/containerd/conf.d/50-cri.toml'), 'version = 2\n[plugins."io.containerd.grpc.v1.cri"]\n  sandbox_image = "pause:3.9"\n');
    const moved = await installRuntime(opts, recordingActions('1.7.24'));
    expect(moved.target.path).toBe('/etc/containerd/conf.d/50-cri.toml');
    expect(await readFile(host('/etc/containerd/config.toml'), 'utf8')).toBe(`imports = ["conf.d/*.toml"]\n${stock('1.7.24')}`);
  });
});
