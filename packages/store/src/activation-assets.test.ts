import { spawnSync } from 'node:child_process';
import { describe, expect, it } from 'vitest';
import { renderEnvrc } from './activation-assets.ts';

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
