import { execFile, spawn } from 'node:child_process';
import { closeSync, openSync } from 'node:fs';
import { createServer } from 'node:net';
import { mkdir, mkdtemp, readFile, rm, stat, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { stageLayout } from '@flox-k8s/shim-layout';
import { stubImage } from '@flox-k8s/oci-image';
import { hostShimLayout } from './install/install-options.ts';
import { ociArchitecture } from './install/stub-image.ts';
import { standInShimPrograms } from './install/test-shim-programs.ts';
import { startFakeApiserver, type FakeApiserver } from '@flox-k8s/fake-apiserver';
import { profilesDirOf, STORE_VIEW_DIR } from '@flox-k8s/store';
import { mountNamespaceOf, mountStoreView } from '@flox-k8s/store/view-mounts';

const run = promisify(execFile);
const main = join(import.meta.dirname, 'main.ts');

let dir: string;
let apiserver: FakeApiserver;
let env: NodeJS.ProcessEnv;
const original = 'version = 2\n# the node operator\'s config\n';

beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), 'flox-agent-cli-'));
  apiserver = await startFakeApiserver();
  apiserver.addNode('node-cli');
  const installDir = join(dir, 'opt', 'flox-k8s');
  const programs = await standInShimPrograms(join(dir, 'programs'));
  const shimLayout = await stageLayout({ programs, ...hostShimLayout(installDir), fromSource: false }, join(dir, 'layout'));
  await mkdir(join(dir, 'etc', 'containerd'), { recursive: true });
  await writeFile(join(dir, 'etc', 'containerd', 'config.toml'), original);
  await writeFile(
    join(dir, 'kubeconfig'),
    `apiVersion: v1\nkind: Config\nclusters: [{ name: c, cluster: { server: "${apiserver.url}", insecure-skip-tls-verify: true } }]\nusers: [{ name: u, user: {} }]\ncontexts: [{ name: x, context: { cluster: c, user: u } }]\ncurrent-context: x\n`,
  );
  await writeFile(
    join(dir, 'agent.json'),
    JSON.stringify({
      storeRoot: join(dir, 'store'),
      agentSocket: join(dir, 'agent.sock'),
      agent: {
        metricsHost: '127.0.0.1',
        metricsPort: 0,
        installer: {
          hostRoot: '',
          containerdConfig: join(dir, 'etc', 'containerd', 'config.toml'),
          installDir,
          shimLinkDir: join(dir, 'bin'),
          shimLayout,
          versionCommand: ['/bin/echo', 'containerd github.com/containerd/containerd v1.7.24 x'],
          restartCommand: ['/bin/sh', '-c', `echo restart >> ${join(dir, 'restarts')}`],
          healthCommand: ['/bin/true'],
          // A file-backed stand-in for ctr's k8s.io image store: import reads the OCI layout's index.json.
          imageListCommand: ['/bin/sh', '-c', `cat ${join(dir, 'images')} 2>/dev/null || echo 'REF TYPE DIGEST'`],
          imageImportCommand: [
            '/bin/sh',
            '-c',
            `cat > ${join(dir, 'stub.tar')} && idx=$(tar -xOf ${join(dir, 'stub.tar')} index.json) && ` +
              `printf 'REF TYPE DIGEST\\n%s application/vnd.oci.image.manifest.v1+json %s\\n' ` +
              `"$(echo "$idx" | grep -o '"io.containerd.image.name":"[^"]*"' | cut -d'"' -f4)" "$(echo "$idx" | grep -o 'sha256:[0-9a-f]*' | head -1)" > ${join(dir, 'images')}`,
          ],
          imageRemoveCommand: ['/bin/sh', '-c', `echo "$0" >> ${join(dir, 'removed-images')}; rm ${join(dir, 'images')}`],
        },
      },
    }),
  );
  env = { ...process.env, FLOXK8S_AGENT_CONFIG: join(dir, 'agent.json'), KUBECONFIG: join(dir, 'kubeconfig'), NODE_NAME: 'node-cli' };
}, 120_000);
afterAll(async () => {
  await apiserver?.close();
  // Should a test fail with the view still mounted, it goes before the removal.
  if (dir) for (const point of await mountsUnder(dir)) await run('umount', ['-l', point]).catch(() => undefined);
  if (dir) await rm(dir, { recursive: true, force: true });
});

/** Mount points at or under `dir` in this namespace, deepest first. */
async function mountsUnder(dir: string): Promise<string[]> {
  const points = (await readFile('/proc/self/mountinfo', 'utf8')).split('\n').map((line) => line.split(' ')[4] ?? '');
  return points.filter((p) => p === dir || p.startsWith(`${dir}/`)).sort((a, b) => b.length - a.length);
}

const cli = (...args: string[]) => run(process.execPath, ['--conditions=@flox-k8s/source', main, ...args], { env, timeout: 60_000 });

describe('flox-node-agent CLI', () => {
  it('version prints JSON', async () => {
    expect(JSON.parse((await cli('version')).stdout)).toMatchObject({ name: 'flox-node-agent', version: '0.0.0' });
  });

  it('install adds the runtime, restarts once and labels the node; uninstall undoes all of it', async () => {
    const installed = await cli('install');
    expect(JSON.parse(installed.stdout.trim().split('\n').at(-1) ?? '{}')).toMatchObject({ level: 'info', msg: 'installed', node: 'node-cli' });
    expect(await readFile(join(dir, 'etc', 'containerd', 'config.toml'), 'utf8')).toContain('runtimes.flox]');
    expect(await readFile(join(dir, 'restarts'), 'utf8')).toBe('restart\n');
    expect(apiserver.node('node-cli')?.metadata['labels']).toEqual({ 'flox.dev/enabled': 'true' });
    expect(JSON.parse(await readFile(join(dir, 'opt', 'flox-k8s', 'etc', 'config.json'), 'utf8'))).not.toHaveProperty('agent');
    const stub = await stubImage({ architecture: ociArchitecture() });
    expect((await readFile(join(dir, 'stub.tar'))).equals(Buffer.from(stub.tarball))).toBe(true);
    expect(await readFile(join(dir, 'images'), 'utf8')).toContain(`docker.io/flox/empty:1.0.0 application/vnd.oci.image.manifest.v1+json ${stub.manifestDigest}`);

    // A large closure's store view, mounted (in this namespace) as the patch service does it.
    const view = join(profilesDirOf(join(dir, 'store')), 'p', STORE_VIEW_DIR);
    const base = `${'0'.repeat(32)}-pkg`;
    await mkdir(join(view, base), { recursive: true });
    await mkdir(join(dir, 'store', 'store', base), { recursive: true });
    const fd = openSync('/proc/self/ns/mnt', 'r');
    await mountStoreView({ view, hostStoreDir: join(dir, 'store', 'store'), bases: [base], namespace: { fd, id: mountNamespaceOf(process.pid) as string }, callerPath: (p) => p }).finally(() => closeSync(fd));
    expect(await mountsUnder(view)).toHaveLength(2);

    const uninstalled = await cli('uninstall');
    expect(JSON.parse(uninstalled.stdout.trim().split('\n').at(-1) ?? '{}')).toMatchObject({ msg: 'uninstalled', storeViewsUnmounted: 1 });
    expect(await mountsUnder(view)).toEqual([]);
    expect(await readFile(join(dir, 'etc', 'containerd', 'config.toml'), 'utf8')).toBe(original);
    expect(await readFile(join(dir, 'restarts'), 'utf8')).toBe('restart\nrestart\n');
    expect(apiserver.node('node-cli')?.metadata['labels']).toEqual({});
    await expect(stat(join(dir, 'opt', 'flox-k8s'))).rejects.toMatchObject({ code: 'ENOENT' });
    expect(await readFile(join(dir, 'removed-images'), 'utf8')).toBe('docker.io/flox/empty:1.0.0\n');
  });

  it('uninstall refuses while an agent answers on the node; `uninstall --wait` (the DaemonSet) stays Ready until stopped', async () => {
    await cli('install');
    const agent = createServer((socket) => socket.end());
    await new Promise<void>((r) => agent.listen(join(dir, 'agent.sock'), r));
    try {
      const refused = await cli('uninstall').then(() => undefined, (error: { code: number; stdout: string }) => error);
      expect(refused?.code).toBe(1);
      expect(JSON.parse(refused?.stdout.trim().split('\n').at(-1) ?? '{}')).toMatchObject({ level: 'error', code: 'FLOXK8S_AGENT_STILL_RUNNING' });
      expect(await readFile(join(dir, 'etc', 'containerd', 'config.toml'), 'utf8')).toContain('runtimes.flox]');
    } finally {
      await new Promise((r) => agent.close(r));
    }
    const child = spawn(process.execPath, ['--conditions=@flox-k8s/source', main, 'uninstall', '--wait'], { env, stdio: ['ignore', 'pipe', 'inherit'] });
    let out = '';
    child.stdout.setEncoding('utf8').on('data', (c: string) => (out += c));
    const deadline = Date.now() + 60_000;
    let readyz: string | undefined;
    while (readyz === undefined && Date.now() < deadline && child.exitCode === null) {
      await new Promise((r) => setTimeout(r, 50));
      readyz = out.split('\n').filter((l) => l.startsWith('{')).map((l) => JSON.parse(l) as { readyz?: string }).find((l) => l.readyz)?.readyz;
    }
    expect(readyz).toBeDefined();
    expect(await readFile(join(dir, 'etc', 'containerd', 'config.toml'), 'utf8')).toBe(original);
    expect((await fetch(readyz as string)).status).toBe(200);
    child.kill('SIGTERM');
    expect(await new Promise((r) => child.on('close', r))).toBe(0);
  });

  it('exits non-zero with a coded JSON error line on a bad command', async () => {
    const failed = await cli('frobnicate').then(() => undefined, (error: { code: number; stdout: string }) => error);
    expect(failed?.code).toBe(2);
    expect(JSON.parse(failed?.stdout.trim() ?? '{}')).toMatchObject({ level: 'error', msg: expect.stringContaining('usage') });
  });
});
