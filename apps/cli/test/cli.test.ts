import { mkdtemp, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { CLI_VERSION } from '../src/version.ts';
import { removeBundle, runCli, writeConfig } from './run-cli.ts';

let dir: string;
let config: string;
beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), 'flox-cli-'));
  config = await writeConfig(dir);
});
afterAll(async () => {
  await removeBundle();
  await rm(dir, { recursive: true, force: true });
});

describe('flox-k8s command line', () => {
  it('prints help and its version with exit 0; CLI_VERSION is package.json\'s', async () => {
    const help = await runCli(['--help'], { config });
    expect(help.code).toBe(0);
    for (const command of ['publish', 'resolve', 'realise', 'sbom', 'who-uses', 'doctor', 'status']) expect(help.stdout).toContain(`\n  ${command} `);
    expect(help.stdout).toContain('Exit codes: 0 ok, 1 the command failed');
    const sub = await runCli(['realise', '--help'], { config });
    expect(sub.code).toBe(0);
    expect(sub.stdout).toContain('--progress <mode>');
    const version = await runCli(['--version'], { config });
    expect(version).toMatchObject({ code: 0, stdout: `${CLI_VERSION}\n` });
    expect(JSON.parse(await readFile(new URL('../package.json', import.meta.url), 'utf8')).version).toBe(CLI_VERSION);
  });

  it('exits 2 with FLOXK8S_CLI_USAGE for an unknown command, option or a missing argument, as text or JSON', async () => {
    const bare = await runCli([], { config });
    expect(bare.code).toBe(2);
    expect(bare.stderr).toContain('Usage: flox-k8s');

    const unknown = await runCli(['publsh'], { config });
    expect(unknown.code).toBe(2);
    expect(unknown.stderr).toMatch(/^flox-k8s: error FLOXK8S_CLI_USAGE: unknown command 'publsh'/);
    expect(unknown.stderr).toContain('Did you mean publish?');

    const option = await runCli(['resolve', 'acme/x', '--bogus', '--output', 'json'], { config });
    expect(option.code).toBe(2);
    expect(option.stdout).toBe('');
    expect(option.error()).toEqual({ code: 'FLOXK8S_CLI_USAGE', message: "unknown option '--bogus'" });

    const missing = await runCli(['publish', 'acme/x', '-o', 'json'], { config });
    expect(missing.code).toBe(2);
    expect(missing.error().code).toBe('FLOXK8S_CLI_USAGE');
  });

  it('validates flag values with zod and names the flag', async () => {
    const cases: Array<[string[], string]> = [
      [['resolve', 'acme/../etc'], '<reference>: invalid environment reference'],
      [['realise', 'acme/x', '--concurrency', 'lots'], '--concurrency: expected a whole number'],
      [['realise', 'acme/x', '--cache', 'ftp://cache'], '--cache: expected an http(s):// URL'],
      [['realise', 'acme/x', '--trusted-key', 'nope'], '--trusted-key: expected name:base64 ed25519 public key'],
      [['sbom', 'acme/x', '--format', 'xml'], '--format: '],
      [['publish', 'acme/x:3', 'manifest.lock', '--to', 'hub'], '<environment>: expected owner/name without :generation'],
      [['realise'], 'expected either an environment reference or --lockfile'],
      [['doctor', '--agent-url', 'file:///x'], '--agent-url: expected an http(s):// URL'],
    ];
    for (const [args, message] of cases) {
      const run = await runCli([...args, '--output', 'json'], { config });
      expect(run.code, args.join(' ')).toBe(2);
      expect(run.error(), args.join(' ')).toMatchObject({ code: 'FLOXK8S_CLI_USAGE', message: expect.stringContaining(message) });
    }
    const output = await runCli(['resolve', 'acme/x', '--output', 'yaml'], { config });
    expect(output.code).toBe(2);
    expect(output.stderr).toMatch(/^flox-k8s: error FLOXK8S_CLI_USAGE: --output: /);
  });

  it('reports a broken config file with its code, exit 1', async () => {
    const broken = join(dir, 'broken.json');
    await import('node:fs/promises').then((fs) => fs.writeFile(broken, '{"caches": [{"url": "ftp://x"}]}'));
    const run = await runCli(['resolve', 'acme/x'], { config: broken });
    expect(run.code).toBe(1);
    expect(run.stderr).toMatch(/^flox-k8s: error FLOXK8S_CONFIG_INVALID: .*caches\[0\]\.url: expected an http\(s\):\/\/ URL/);
    const missing = await runCli(['resolve', 'acme/x', '--config', join(dir, 'nowhere.json'), '-o', 'json'], { config });
    expect(missing.code).toBe(1);
    expect(missing.error().code).toBe('FLOXK8S_CONFIG_INVALID');
  });
});
