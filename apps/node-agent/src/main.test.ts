import { execFile } from 'node:child_process';
import { mkdir, mkdtemp, readFile, rm, stat, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { stageLayout } from '@flox-k8s/shim-layout';
import { hostShimLayout } from './install/install-options.ts';
import { standInShimPrograms } from './install/test-shim-programs.ts';
import { startFakeApiserver, type FakeApiserver } from '@flox-k8s/fake-apiserver';

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
      agent: {
        installer: {
          hostRoot: '',
          containerdConfig: join(dir, 'etc', 'containerd', 'config.toml'),
          installDir,
          shimLinkDir: join(dir, 'bin'),
          shimLayout,
          versionCommand: ['/bin/echo', 'containerd github.com/containerd/containerd v1.7.24 x'],
          restartCommand: ['/bin/sh', '-c', `echo restart >> ${join(dir, 'restarts')}`],
          healthCommand: ['/bin/true'],
        },
      },
    }),
  );
  env = { ...process.env, FLOXK8S_AGENT_CONFIG: join(dir, 'agent.json'), KUBECONFIG: join(dir, 'kubeconfig'), NODE_NAME: 'node-cli' };
}, 120_000);
afterAll(async () => {
  await apiserver?.close();
  if (dir) await rm(dir, { recursive: true, force: true });
});

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

    await cli('uninstall');
    expect(await readFile(join(dir, 'etc', 'containerd', 'config.toml'), 'utf8')).toBe(original);
    expect(await readFile(join(dir, 'restarts'), 'utf8')).toBe('restart\nrestart\n');
    expect(apiserver.node('node-cli')?.metadata['labels']).toEqual({});
    await expect(stat(join(dir, 'opt', 'flox-k8s'))).rejects.toMatchObject({ code: 'ENOENT' });
  });

  it('exits non-zero with a coded JSON error line on a bad command', async () => {
    const failed = await cli('frobnicate').then(() => undefined, (error: { code: number; stdout: string }) => error);
    expect(failed?.code).toBe(2);
    expect(JSON.parse(failed?.stdout.trim() ?? '{}')).toMatchObject({ level: 'error', msg: expect.stringContaining('usage') });
  });
});
