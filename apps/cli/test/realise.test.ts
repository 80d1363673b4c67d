import { spawn } from 'node:child_process';
import { readFile, readdir } from 'node:fs/promises';
import { basename, join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { nixSkipReason, serveCache } from '@flox-k8s/nix-fixtures';
import type { RealiseJson } from '../src/index.ts';
import { CACHE_TOKEN, fixtureEnv, type FixtureEnv } from './fixture-env.ts';
import { bundledCli, removeBundle, runCli } from './run-cli.ts';

const skip = nixSkipReason();
let env: FixtureEnv;
let storeN = 0;
const freshStore = (): string => join(env.dir, `store-${++storeN}`);

describe.skipIf(skip !== undefined)(`realise from a real signed cache${skip ? ` (skipped: ${skip})` : ''}`, () => {
  beforeAll(async () => {
    env = await fixtureEnv('realise');
  });
  afterAll(async () => {
    await env?.close();
    await removeBundle();
  });

  it('realises the closure into the store with plain progress lines on a pipe, bytes equal to Nix\'s', async () => {
    const store = freshStore();
    const run = await runCli(['realise', 'acme/fixture:1', '--store', store], { config: env.config });
    expect(run.code).toBe(0);
    const closure = env.fixtures.closure;
    expect(run.stdout.split('\n')[0]).toMatch(new RegExp(`^realised acme/fixture:1 \\(x86_64-linux\\) into ${store}: 4 paths, 4 fetched \\([0-9.]+ [kM]B downloaded\\), 0 already present, in [0-9.]+ s$`));
    expect(run.stdout.split('\n').slice(1, -1)).toEqual(closure.map((p) => `  ${p}`));
    const lines = run.stderr.trimEnd().split('\n');
    expect(lines[0]).toMatch(/^realise: closure of 4 paths, 4 to fetch \([0-9.]+ [kM]B of NAR\)$/);
    const fetched = lines.filter((l) => l.startsWith('realise: fetched '));
    expect(fetched.map((l) => l.split(' ')[2]).sort()).toEqual(closure);
    expect(fetched.at(-1)).toMatch(/; ([0-9.]+ [kM]B) of \1, 4\/4 paths$/);
    expect(await readdir(join(store, 'store'))).toEqual(closure.map((p) => basename(p)).sort());
    const greeting = join(basename(env.fixtures.storePaths.data), 'share', 'flox-fixture', 'greeting.txt');
    expect(await readFile(join(store, 'store', greeting))).toEqual(await readFile(join('/nix/store', greeting)));
  });

  it('prints one JSON document and no progress with --output json; a second run finds everything present', async () => {
    const store = freshStore();
    const cold = await runCli(['realise', 'acme/fixture', '--store', store, '--output', 'json'], { config: env.config });
    expect(cold).toMatchObject({ code: 0, stderr: '' });
    const json = cold.json<RealiseJson>();
    expect(json).toMatchObject({ environment: 'acme/fixture:1', system: 'x86_64-linux', store, closure: env.fixtures.closure, fetched: env.fixtures.closure, present: [] });
    expect(json.digest).toMatch(/^[0-9a-f]{64}$/);
    expect(json.narBytes).toBeGreaterThan(json.bytesDownloaded);
    const warm = await runCli(['realise', 'acme/fixture', '--store', store, '-o', 'json'], { config: env.config });
    expect(warm.json<RealiseJson>()).toMatchObject({ fetched: [], present: env.fixtures.closure, bytesDownloaded: 0 });
    const lines = await runCli(['realise', 'acme/fixture', '--store', store], { config: env.config });
    expect(lines.stderr).toBe('realise: all 4 paths of the closure are present\n');
  });

  it('draws a progress bar of bytes and paths on a terminal (a real pseudo-terminal from script(1))', async () => {
    const store = freshStore();
    const { entry } = await bundledCli();
    const quote = (s: string): string => `'${s.replaceAll("'", `'\\''`)}'`;
    const command = [process.execPath, entry, 'realise', 'acme/fixture:1', '--store', store].map(quote).join(' ');
    // Asynchronously: the cache server answering the CLI runs in this process.
    const child = spawn('script', ['-q', '-e', '-c', command, '/dev/null'], {
      env: { PATH: process.env['PATH'] ?? '/usr/bin:/bin', FLOXK8S_CONFIG: env.config, TERM: 'xterm', COLUMNS: '120' },
      stdio: ['ignore', 'pipe', 'inherit'],
    });
    let tty = '';
    child.stdout.on('data', (chunk: Buffer) => (tty += chunk.toString('utf8')));
    const timer = setTimeout(() => child.kill('SIGKILL'), 120_000);
    const status = await new Promise<number | null>((resolve) => child.on('close', resolve));
    clearTimeout(timer);
    expect(status).toBe(0);
    expect(tty).toMatch(/realise █+░* 100% \| [0-9.]+ [kM]B \/ [0-9.]+ [kM]B \| 4\/4 paths/);
    expect(tty).toContain('\x1b[?25l'); // cursor hidden while drawing…
    expect(tty).toContain('\x1b[?25h'); // …and shown again
    expect(tty).not.toContain('realise: fetched'); // no plain lines on a terminal
    expect(tty).toContain(`realised acme/fixture:1 (x86_64-linux) into ${store}: 4 paths, 4 fetched`);
  });

  it('realises a --lockfile from stdin with --progress none', async () => {
    const store = freshStore();
    const run = await runCli(['realise', '--lockfile', '-', '--store', store, '--progress', 'none', '-o', 'json'], {
      config: env.config,
      stdin: env.fixtures.lockfile.bytes,
    });
    expect(run).toMatchObject({ code: 0, stderr: '' });
    expect(run.json<RealiseJson>()).not.toHaveProperty('environment');
    expect(run.json<RealiseJson>().fetched).toEqual(env.fixtures.closure);
  });

  it('stops on SIGINT: exit 1 with FLOXK8S_STORE_ABORTED, nothing half-written in the store', async () => {
    // A cache whose NARs hang until the test lets go: the interrupt lands mid-download.
    const held: Array<() => void> = [];
    const stalling = await serveCache(env.fixtures.caches.xz, {
      onRequest: (req) => (req.url?.startsWith('/nar/') ? new Promise<boolean>((resolve) => held.push(() => resolve(false))) : false),
    });
    const store = freshStore();
    const { entry } = await bundledCli();
    const child = spawn(process.execPath, [entry, 'realise', 'acme/fixture:1', '--store', store, '--cache', stalling.url, '-o', 'json'], {
      env: { PATH: process.env['PATH'] ?? '/usr/bin:/bin', FLOXK8S_CONFIG: env.config },
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    let stderr = '';
    child.stderr.on('data', (c: Buffer) => (stderr += c.toString('utf8')));
    const exited = new Promise<number | null>((resolve) => child.on('close', resolve));
    try {
      for (let i = 0; i < 600 && stalling.count('/nar/') === 0; i++) await new Promise((r) => setTimeout(r, 50));
      expect(stalling.count('/nar/')).toBeGreaterThan(0);
      child.kill('SIGINT');
      expect(await exited).toBe(1);
    } finally {
      for (const release of held) release();
      await stalling.close();
    }
    expect(JSON.parse(stderr)).toMatchObject({ error: { code: 'FLOXK8S_STORE_ABORTED' } });
    expect(await readdir(join(store, 'store'))).toEqual([]);
    expect(await readdir(join(store, 'tmp'))).toEqual([]);
  });

  it('fails with the cache client\'s code for an untrusted key, leaves no path behind, prints no credential', async () => {
    const store = freshStore();
    const otherKey = 'other-key-1:IjgEessdRjjWG7JqxgaO5g+xSF1uwzlQjQAZR0F7h1d=';
    for (const output of ['human', 'json']) {
      const run = await runCli(['realise', 'acme/fixture:1', '--store', store, '--trusted-key', otherKey, '--output', output], { config: env.config });
      expect(run.code).toBe(1);
      const code = output === 'json' ? run.error().code : /^flox-k8s: error (FLOXK8S_[A-Z_]+):/.exec(run.stderr)?.[1];
      expect(code).toBe('FLOXK8S_NARINFO_UNTRUSTED');
      expect(run.stdout + run.stderr).not.toContain(CACHE_TOKEN);
    }
    expect(await readdir(join(store, 'store'))).toEqual([]);
    // The cache did get the credential: the CLI read and used it, and printed it nowhere.
    const ok = await runCli(['realise', 'acme/fixture:1', '--store', store], { config: env.config });
    expect(ok.code).toBe(0);
    expect(ok.stdout + ok.stderr).not.toContain(CACHE_TOKEN);
  });
});
