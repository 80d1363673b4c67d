import { execFileSync } from 'node:child_process';
import { randomUUID } from 'node:crypto';
import { readFile, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { NixCommandError } from './errors.ts';
import { BARE_INSTALL_OPTIONS, nixCommand, nixShellCommand, runNix, runNixSync } from './nix-command.ts';
import { nixSkipReason, tempDir } from './test-nix.ts';

describe('nixCommand', () => {
  it('puts the bare-install settings before the arguments', () => {
    expect(nixCommand('nix-env', ['-p', '/tmp/p', '-i', '/nix/store/x'])).toEqual({
      command: 'nix-env',
      args: [...BARE_INSTALL_OPTIONS, '-p', '/tmp/p', '-i', '/nix/store/x'],
    });
    const settings = Object.fromEntries(
      BARE_INSTALL_OPTIONS.flatMap((word, i) => (word === '--option' ? [[BARE_INSTALL_OPTIONS[i + 1], BARE_INSTALL_OPTIONS[i + 2]]] : [])),
    );
    expect(settings).toEqual({ 'build-users-group': '', sandbox: 'false', substituters: '', 'extra-experimental-features': 'nix-command' });
  });
});

const skip = nixSkipReason();

describe.skipIf(skip !== undefined)(`runNix on this machine${skip ? ` (skipped: ${skip})` : ''}`, () => {
  let work: { dir: string; cleanup: () => Promise<void> };
  beforeAll(async () => {
    work = await tempDir('nix-command');
  });
  afterAll(() => work?.cleanup());

  // A bare nix-bin install has no nixbld group: without `build-users-group = ''` every
  // build fails ("the group 'nixbld' specified in 'build-users-group' does not exist").
  it('builds a derivation (a fresh one, so Nix really runs a builder)', async () => {
    const nonce = randomUUID();
    const expression = join(work.dir, 'check.nix');
    await writeFile(
      expression,
      `derivation { name = "flox-k8s-bare-install-check"; system = "x86_64-linux"; builder = "/bin/sh"; args = [ "-c" "echo ${nonce} > $out" ]; }`,
    );
    const out = (await runNix('nix-build', ['--no-out-link', expression])).trim();
    expect(out).toMatch(/^\/nix\/store\/[0-9a-z]{32}-flox-k8s-bare-install-check$/);
    expect(await readFile(out, 'utf8')).toBe(`${nonce}\n`);
  });

  it('runs the experimental nix command (path-info --json) on Nix 2.8', async () => {
    await writeFile(join(work.dir, 'added.txt'), 'added\n');
    const added = (await runNix('nix-store', ['--add', join(work.dir, 'added.txt')])).trim();
    const infos = JSON.parse(await runNix('nix', ['path-info', '--json', added])) as Array<{ path: string; narSize: number }>;
    expect(infos).toEqual([expect.objectContaining({ path: added, narSize: 120 })]);
  });

  it('turns a failure into NixCommandError with the code and stderr', async () => {
    const missing = '/nix/store/00000000000000000000000000000000-flox-k8s-missing';
    const failure = await runNix('nix-store', ['--query', '--references', missing]).catch((error: unknown) => error);
    expect(failure).toBeInstanceOf(NixCommandError);
    expect((failure as NixCommandError).code).toBe('FLOXK8S_FIXTURE_NIX_FAILED');
    expect((failure as NixCommandError).stderr).toContain(missing);
    expect(() => runNixSync('nix-store', ['--query', '--references', missing])).toThrow(
      expect.objectContaining({ code: 'FLOXK8S_FIXTURE_NIX_FAILED' }),
    );
  });

  it('passes stdin and returns bytes: nix-store --dump | --restore round-trips, and the shell form dumps the same bytes', async () => {
    const tricky = join(work.dir, "it's a file");
    await writeFile(tricky, 'content\n', { mode: 0o755 });
    const nar = runNixSync('nix-store', ['--dump', tricky], { encoding: 'buffer' });
    expect(nar.subarray(8, 8 + 13).toString()).toBe('nix-archive-1');
    runNixSync('nix-store', ['--restore', join(work.dir, 'restored')], { input: nar });
    expect(await readFile(join(work.dir, 'restored'), 'utf8')).toBe('content\n');
    const viaShell = execFileSync('bash', ['-c', nixShellCommand('nix-store', ['--dump', tricky])]);
    expect(viaShell.equals(nar)).toBe(true);
  });
});
