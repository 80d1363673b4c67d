import { mkdir, mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { gunzipSync } from 'node:zlib';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { FETCH_PROCESS_ENV } from '@flox-k8s/nar/process-env';
import { libraryPath } from '@flox-k8s/oci-image';
import { agentImage, sharedLibraries, type AgentImageInputs } from './agent-image.ts';

let dir: string;
let inputs: AgentImageInputs;

/** Names of the entries of an (uncompressed) tar. */
function tarNames(tar: Uint8Array): string[] {
  const names: string[] = [];
  for (let off = 0; off + 512 <= tar.length; ) {
    const header = Buffer.from(tar.subarray(off, off + 512));
    const name = header.subarray(0, 100).toString('utf8').replace(/\0.*$/s, '');
    if (name === '') break;
    const prefix = header.subarray(345, 500).toString('utf8').replace(/\0.*$/s, '');
    const size = parseInt(header.subarray(124, 136).toString('utf8').replace(/\0.*$/s, '').trim() || '0', 8);
    names.push(prefix ? `${prefix}/${name}` : name);
    off += 512 + Math.ceil(size / 512) * 512;
  }
  return names;
}

/** The blob `digest` of an image's OCI layout tarball. */
function blobOf(tarball: Uint8Array, digest: string): Buffer {
  const outer = Buffer.from(tarball);
  for (let off = 0; off + 512 <= outer.length; ) {
    const header = outer.subarray(off, off + 512);
    const name = header.subarray(0, 100).toString('utf8').replace(/\0.*$/s, '');
    const size = parseInt(header.subarray(124, 136).toString('utf8').replace(/\0.*$/s, '').trim() || '0', 8);
    if (name === `blobs/sha256/${digest.slice('sha256:'.length)}`) return outer.subarray(off + 512, off + 512 + size);
    if (name === '') break;
    off += 512 + Math.ceil(size / 512) * 512;
  }
  throw new Error(`blob ${digest} not in tarball`);
}

beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), 'flox-agent-image-'));
  await mkdir(join(dir, 'layout', 'bin'), { recursive: true });
  await writeFile(join(dir, 'layout', 'bin', 'containerd-shim-flox-v2'), '#!/bin/sh\nexec true\n', { mode: 0o755 });
  inputs = {
    // busybox-static stands in for Node here (the real Node image is built and run in e2e).
    nodeBinary: '/bin/busybox',
    agentBundle: {
      agent: Buffer.from('console.log("agent")\n'),
      fetchWorker: Buffer.from('// worker\n'),
      runtime: [{ path: 'node_modules/koffi/package.json', content: Buffer.from('{"name":"koffi"}\n'), mode: 0o644 }],
    },
    shimLayoutDir: join(dir, 'layout'),
    caCertificates: '/etc/ssl/certs/ca-certificates.crt',
    tools: ['/usr/bin/nsenter'],
  };
});
afterAll(async () => {
  await rm(dir, { recursive: true, force: true });
});

describe('agentImage', () => {
  it('is deterministic: the same inputs give the same digest and bytes', async () => {
    const a = await agentImage(inputs);
    const b = await agentImage(inputs);
    expect(a.manifestDigest).toBe(b.manifestDigest);
    expect(Buffer.from(a.tarball).equals(Buffer.from(b.tarball))).toBe(true);
    const c = await agentImage({ ...inputs, agentBundle: { ...inputs.agentBundle, agent: Buffer.from('console.log("other")\n') } });
    expect(c.manifestDigest).not.toBe(a.manifestDigest);
    expect(c.layers.slice(0, 3)).toEqual(a.layers.slice(0, 3));
  });

  it('holds nsenter with its libraries, the CA bundle, node, the shim layout and the bundle', async () => {
    const image = await agentImage(inputs);
    expect(image.name.full).toBe('docker.io/flox-k8s/node-agent:0.0.0');
    const outer = tarNames(image.tarball);
    expect(outer).toContain('index.json');
    expect(outer).toContain('oci-layout');
    const blobs = image.layers.map((l) => l.digest.slice('sha256:'.length));
    const layerNames = blobs.map((hex) => tarNames(gunzipSync(blobOf(image.tarball, `sha256:${hex}`))));
    const libs = await sharedLibraries('/usr/bin/nsenter');
    expect(libs.length).toBeGreaterThan(0);
    for (const lib of libs) expect(layerNames[0]).toContain(lib.slice(1));
    expect(layerNames[0]).toContain('usr/bin/nsenter');
    // libzstd, which no tool links, at the path the host's loader finds it (ldconfig -p).
    expect(layerNames[0]).toContain((await libraryPath('libzstd.so.1')).slice(1));
    expect(layerNames[0]).toContain('etc/ssl/certs/ca-certificates.crt');
    expect(layerNames[1]).toEqual(['usr', 'usr/local', 'usr/local/bin', 'usr/local/bin/node']);
    expect(layerNames[2]).toContain('opt/flox-node-agent/shim-layout/bin/containerd-shim-flox-v2');
    expect(layerNames[3]).toContain('opt/flox-node-agent/agent.mjs');
    // The store's fetch worker beside it: the agent starts it by URL.
    expect(layerNames[3]).toContain('opt/flox-node-agent/fetch-worker.mjs');
    // And the packages it loads at run time (koffi, for xz through liblzma), in a node_modules beside it.
    expect(layerNames[3]).toContain('opt/flox-node-agent/node_modules/koffi/package.json');
  });

  it('runs the bundle as a NAR-fetching process is benchmarked: FETCH_PROCESS_ENV in its environment, no Node flag of its own', async () => {
    const image = await agentImage(inputs);
    const config = JSON.parse(blobOf(image.tarball, image.configDigest).toString('utf8')) as { config: { Entrypoint: string[]; Cmd: string[]; Env: string[] } };
    // A flag here would override the DaemonSet's NODE_OPTIONS (Node lets its command line win).
    expect(config.config.Entrypoint).toEqual(['/usr/local/bin/node', '/opt/flox-node-agent/agent.mjs']);
    expect(config.config.Cmd).toEqual(['run']);
    for (const [name, value] of Object.entries(FETCH_PROCESS_ENV)) expect(config.config.Env).toContain(`${name}=${value}`);
  });

  it('finds no libraries for a static binary', async () => {
    expect(await sharedLibraries('/bin/busybox')).toEqual([]);
  });

  it('finds a dlopened library by its soname, as the loader does, and says when the host has none', async () => {
    // libc.so.6 is the one every dynamic program links: ldd of /bin/sh names the same file.
    expect(await libraryPath('libc.so.6')).toBe((await sharedLibraries('/bin/sh')).find((l) => l.endsWith('/libc.so.6')));
    await expect(libraryPath('libnothing-here.so.9')).rejects.toMatchObject({ code: 'FLOXK8S_IMAGE_INPUT_INVALID', message: expect.stringContaining('libnothing-here.so.9') });
    await expect(agentImage({ ...inputs, libraries: ['libnothing-here.so.9'] })).rejects.toMatchObject({ code: 'FLOXK8S_IMAGE_INPUT_INVALID' });
  });
});
