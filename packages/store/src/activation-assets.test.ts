import { spawnSync } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { ActivationPlan } from '@flox-k8s/lockfile';
import { afterAll, describe, expect, it } from 'vitest';
import { activationAssets, renderEnvrc } from './activation-assets.ts';

function sourced(envrc: string, env: Record<string, string>, show: string): string {
  const r = spawnSync('/bin/sh', ['-c', `${envrc}\nprintf '%s' "$${show}"`], { env, encoding: 'utf8' });
  expect(r.status).toBe(0);
  return r.stdout;
}

describe('renderEnvrc', () => {
  const plan = {
    env: [
      { name: 'PATH', value: '/e/bin', merge: 'prepend' as const },
      { name: 'MANPATH', value: '/e/share/man:', merge: 'prepend' as const },
    ],
    hook: undefined,
    profile: {},
    needsWrapper: false,
  };
  const envrc = renderEnvrc(plan, 'test');

  it('prepends PATH-like values with one ":" to what the shell already has', () => {
    expect(sourced(envrc, { PATH: '/usr/bin:/bin' }, 'PATH')).toBe('/e/bin:/usr/bin:/bin');
  });

  it("joins Flox's MANPATH (trailing ':') without making '::', set or unset", () => {
    expect(sourced(envrc, { PATH: '/bin', MANPATH: '/usr/share/man' }, 'MANPATH')).toBe('/e/share/man:/usr/share/man');
    expect(sourced(envrc, { PATH: '/bin' }, 'MANPATH')).toBe('/e/share/man:');
  });
});

describe('the wrapper, run by real shells', () => {
  const dir = mkdtempSync(join(tmpdir(), 'store-wrapper-'));
  afterAll(() => rmSync(dir, { recursive: true, force: true }));

  /** Writes the assets of `plan` and runs `<shell> wrapper sh -c 'echo ...'`. */
  function run(shell: string[], hook: string, common: string): { status: number | null; stdout: string; stderr: string } {
    const plan: ActivationPlan = {
      env: [{ name: 'GREETING', value: 'hello from $WHO', merge: 'set', expand: true }],
      hook,
      profile: { common },
      needsWrapper: true,
    };
    const sub = mkdtempSync(join(dir, 'assets-'));
    for (const [name, text] of activationAssets(plan, sub, 'test')) writeFileSync(join(sub, name), text);
    const r = spawnSync(shell[0] as string, [...shell.slice(1), join(sub, 'wrapper'), '/bin/sh', '-c', 'echo "cmd: $GREETING $HOOKED $PROFILED"'], {
      env: { PATH: '/usr/bin:/bin', WHO: 'flox' },
      encoding: 'utf8',
    });
    return { status: r.status, stdout: r.stdout, stderr: r.stderr };
  }

  // busybox sh (the fixtures' shell), dash (Debian's /bin/sh) and bash.
  for (const shell of [['/bin/busybox', 'sh'], ['/bin/sh'], ['/bin/bash']]) {
    it(`${shell.join(' ')}: the hook's stdout goes to stderr, its exports reach the command`, () => {
      const r = run(shell, 'echo hook says hi\nexport HOOKED=yes', 'export PROFILED=yes');
      expect(r).toEqual({ status: 0, stdout: 'cmd: hello from flox yes yes\n', stderr: 'hook says hi\n' });
    });

    it(`${shell.join(' ')}: a hook or profile script with a syntax error does not stop the command`, () => {
      const r = run(shell, 'export HOOKED=yes\nif then fi', 'export PROFILED=yes\nfi fi');
      expect(r.status).toBe(0);
      expect(r.stdout).toBe('cmd: hello from flox yes yes\n');
      expect(r.stderr).not.toBe('');
    });
  }
});
