// Acceptance of the README's first command on a clean checkout: `./dev demo` in a fresh
// `git clone`, with an empty HOME / XDG_CACHE_HOME (so no tools dir, no pnpm store, no fixture
// cache) and a PATH without a usable Node or pnpm, must set everything up and show the demo's
// output. The Debian packages are already installed here (CI's own bootstrap did it); this
// proves the Node → pnpm → pnpm install → demo path from zero.
//
// Slow, and the one e2e suite that needs the internet: it downloads Node (~30 MB) and pnpm from
// the npm registry and every workspace dependency into an empty pnpm store. Measured on the
// 2-core CI-like machine: ~55 s unloaded (Node 4 s, pnpm 2 s, pnpm install 30 s, demo 15 s),
// up to ~5 min under heavy load; ~400 MB of temp files, removed afterwards.
// It tests the committed HEAD (a clone), not uncommitted changes.
import { spawn, spawnSync } from 'node:child_process';
import { mkdtemp, readdir, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { requireRoot } from '@flox-k8s/cri-harness';

const repository = fileURLToPath(new URL('../../..', import.meta.url));
const SYSTEM_PATH = '/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin';
// What a CI machine's environment may need to reach the registry (proxies, an extra CA); nothing
// of this process's Node, pnpm or vitest.
const PASS_THROUGH = ['CI', 'LANG', 'http_proxy', 'https_proxy', 'HTTP_PROXY', 'HTTPS_PROXY', 'no_proxy', 'NO_PROXY', 'NODE_EXTRA_CA_CERTS', 'SSL_CERT_FILE', 'SSL_CERT_DIR'];

let dir: string;
let env: Record<string, string>;

function run(command: string, args: string[], cwd: string): Promise<{ code: number | null; output: string }> {
  const child = spawn(command, args, { cwd, env, stdio: ['ignore', 'pipe', 'pipe'] });
  let output = '';
  child.stdout.on('data', (c: Buffer) => (output += c.toString('utf8')));
  child.stderr.on('data', (c: Buffer) => (output += c.toString('utf8')));
  const timer = setTimeout(() => child.kill('SIGKILL'), 900_000);
  return new Promise((resolve) =>
    child.on('close', (code) => {
      clearTimeout(timer);
      resolve({ code, output });
    }),
  );
}

describe.skipIf(requireRoot())('the README\'s first command on a clean checkout (slow: downloads Node, pnpm and the dependencies)', () => {
  beforeAll(async () => {
    dir = await mkdtemp(join(tmpdir(), 'flox-e2e-first-command-'));
    const home = join(dir, 'home');
    env = { HOME: home, XDG_CACHE_HOME: join(home, '.cache'), XDG_DATA_HOME: join(home, '.local', 'share'), XDG_CONFIG_HOME: join(home, '.config'), PATH: SYSTEM_PATH, TERM: 'dumb' };
    for (const name of PASS_THROUGH) if (process.env[name] !== undefined) env[name] = process.env[name];
    const clone = spawnSync('git', ['clone', '--quiet', repository, join(dir, 'repo')], { encoding: 'utf8' });
    expect(clone.stderr).toBe('');
    expect(clone.status).toBe(0);
  }, 120_000);
  afterAll(async () => {
    if (dir !== undefined) await rm(dir, { recursive: true, force: true });
  });

  it('starts with no usable Node and no pnpm on PATH', () => {
    const probe = spawnSync('bash', ['-c', 'command -v pnpm; node -e "process.exit(Number(process.versions.node.split(\'.\')[0]) >= 22 ? 0 : 1)" 2>/dev/null && echo new-node'], { env, encoding: 'utf8' });
    expect(probe.stdout).toBe('');
  });

  it('./dev demo sets up Node, pnpm and the workspace, then prints the demo\'s greeting', async () => {
    const { code, output } = await run('./dev', ['demo'], join(dir, 'repo'));
    expect(output).toContain('Hello from a flox-k8s fixture!');
    expect(output).toContain('FLOX_FIXTURE_VAR=from-vars');
    expect(output).toContain('demo: container exited with status 0');
    expect(output).toMatch(/\[bootstrap [0-9:]+\] downloading node-linux-(x64|arm64)@24\.\d+\.\d+ from /);
    expect(output).toMatch(/\[bootstrap [0-9:]+\] downloading pnpm@\d+\.\d+\.\d+ from /);
    expect(output).toMatch(/\[bootstrap [0-9:]+\] pnpm install --frozen-lockfile/);
    expect(code).toBe(0);
    expect((await readdir(join(dir, 'home', '.cache', 'flox-k8s', 'tools'))).sort()).toEqual([expect.stringMatching(/^node-24\.\d+\.\d+$/), expect.stringMatching(/^pnpm-\d+\.\d+\.\d+$/)]);
  }, 900_000);

  it('is idempotent: a second bootstrap downloads and installs nothing, and prints the PATH to use', async () => {
    const { code, output } = await run('./scripts/bootstrap.sh', [], join(dir, 'repo'));
    expect(code).toBe(0);
    expect(output).not.toContain('downloading');
    expect(output).not.toContain('pnpm install');
    expect(output).toMatch(/^export PATH=.*\/flox-k8s\/tools\/node-24\.\d+\.\d+\/bin:.*\/flox-k8s\/tools\/pnpm-[0-9.]+\/bin:"\$PATH"$/m);
  }, 120_000);
});
