import { spawnSync } from 'node:child_process';
import { describe, expect, it } from 'vitest';
import { exportStatement, mergeVariable, prependSearchPath, startsWithSearchPath, type MergedVariable } from './activation-env.ts';

/** What /bin/sh makes of `exportStatement(variable)`, starting from `current` (undefined: unset). */
function inShell(variable: MergedVariable, current: string | undefined): string | undefined {
  const env: Record<string, string> = { PATH: '/usr/bin:/bin' };
  if (current !== undefined) env[variable.name] = current;
  const r = spawnSync('/bin/sh', ['-c', `${exportStatement(variable)}\nif [ -n "\${${variable.name}+x}" ]; then printf 'set:%s' "$${variable.name}"; fi`], { env, encoding: 'utf8' });
  expect(r.status).toBe(0);
  return r.stdout.startsWith('set:') ? r.stdout.slice(4) : undefined;
}

const cases: Array<[MergedVariable, string | undefined, string]> = [
  [{ name: 'XPATH', value: '/e/bin', merge: 'prepend' }, '/usr/bin:/bin', '/e/bin:/usr/bin:/bin'],
  [{ name: 'XPATH', value: '/e/bin', merge: 'prepend' }, undefined, '/e/bin'],
  [{ name: 'XPATH', value: '/e/bin', merge: 'prepend' }, '', '/e/bin'],
  // Flox's MANPATH: one ':' between the environment's entry and the old value, never '::'.
  [{ name: 'MANPATH', value: '/e/share/man:', merge: 'prepend' }, '/usr/share/man', '/e/share/man:/usr/share/man'],
  [{ name: 'MANPATH', value: '/e/share/man:', merge: 'prepend' }, undefined, '/e/share/man:'],
  [{ name: 'XPATH', value: '', merge: 'prepend' }, '/bin', '/bin'],
  [{ name: 'FLOX_ENV', value: '/e', merge: 'set' }, '/elsewhere', '/e'],
  [{ name: 'GREETING', value: "it's", merge: 'default' }, 'pod', 'pod'],
  [{ name: 'GREETING', value: "it's", merge: 'default' }, '', ''],
  [{ name: 'GREETING', value: "it's", merge: 'default' }, undefined, "it's"],
];

describe('the activation-variable merge rule', () => {
  it.each(cases)('%j onto %j gives %j, in JavaScript and in a real shell', (variable, current, expected) => {
    expect(mergeVariable(variable, current)).toBe(expected);
    expect(inShell(variable, current)).toBe(expected);
  });

  it('never joins with "::"', () => {
    expect(prependSearchPath('/e/share/man:', '/usr/share/man')).toBe('/e/share/man:/usr/share/man');
    expect(prependSearchPath('/e/bin', '/bin')).toBe('/e/bin:/bin');
    expect(prependSearchPath('/e/bin', '')).toBe('/e/bin');
  });

  it('knows a search path that already starts with the head', () => {
    expect(startsWithSearchPath('/e/share/man:/usr/share/man', '/e/share/man:')).toBe(true);
    expect(startsWithSearchPath('/e/bin:/bin', '/e/bin')).toBe(true);
    expect(startsWithSearchPath('/e/bin2:/bin', '/e/bin')).toBe(false);
    expect(startsWithSearchPath('/e/bin', '/e/bin')).toBe(true);
  });

  it('exports [vars] values with shell syntax for the shell to expand', () => {
    const r = spawnSync('/bin/sh', ['-c', `${exportStatement({ name: 'G', value: 'hi $WHO', merge: 'set', expand: true })}\nprintf '%s' "$G"`], {
      env: { WHO: 'flox' },
      encoding: 'utf8',
    });
    expect(r.stdout).toBe('hi flox');
  });
});
