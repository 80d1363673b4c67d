// The wrapper script is checked by running it in real shells: bash, and
// busybox sh (what a minimal container has).
import { execFileSync } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, test } from 'vitest';
import { activationPlan, activationScript, parseLockfile, resolveActivationEnv, type ActivationPlan } from './index.ts';
import { lockfileBytes, minimalLockfile } from './test-fixtures.ts';

const SHELLS = { bash: ['/bin/bash'], sh: ['/bin/busybox', 'sh'] } as const;
const dir = mkdtempSync(join(tmpdir(), 'flox-k8s-lockfile-script-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

/** Run the wrapper like the shim does: process env = container env + plan's static vars; argv = [shell, script, ...cmd]. */
function run(plan: ActivationPlan, shell: keyof typeof SHELLS, container: Record<string, string>): { env: Record<string, string> } {
  const script = join(dir, `activate-${shell}-${Math.random().toString(36).slice(2)}.sh`);
  writeFileSync(script, activationScript(plan, { shell }));
  const processEnv = resolveActivationEnv({ env: plan.env.filter((v) => v.expand !== true) }, container).env;
  const [bin, ...args] = SHELLS[shell];
  const stdout = execFileSync(bin, [...args, script, '/bin/busybox', 'env', '-0'], { env: processEnv, encoding: 'utf8', stdio: ['ignore', 'pipe', 'pipe'], timeout: 10_000 });
  const env: Record<string, string> = {};
  for (const entry of stdout.split('\0')) {
    const eq = entry.indexOf('=');
    if (eq > 0) env[entry.slice(0, eq)] = entry.slice(eq + 1);
  }
  return { env };
}

// A made-up project directory that does not exist: nothing a script does can land on the host.
const PROJECT = '/nonexistent-flox-k8s-project';
const base = { system: 'x86_64-linux', mode: 'run', envDir: '/run/env', projectDir: PROJECT } as const;
const container = { PATH: '/usr/bin:/bin', PYTHONPATH: '/lib/py', FLOXAI_LOG_LEVEL: 'DEBUG' };

describe('activationScript in real shells', () => {
  test.each(Object.keys(SHELLS) as Array<keyof typeof SHELLS>)('[vars] expand like Flox, defaults respect the container (%s)', (shell) => {
    // floxai's real hook installs packages and clones repositories: only its [vars] run here.
    const plan = { ...activationPlan(parseLockfile(lockfileBytes('floxai-large')), base), hook: undefined, profile: {} };
    const { env } = run(plan, shell, container);
    expect(env['FLOXAI_DB_PATH']).toBe(`${PROJECT}/data/floxai.db`);
    expect(env['FLOXAI_PROJECT_ROOT']).toBe(PROJECT);
    expect(env['PYTHONPATH']).toBe(`${PROJECT}/backend:/lib/py`);
    expect(env['FLOXAI_LOG_LEVEL']).toBe('DEBUG');
    expect(env['FLOXAI_API_PORT']).toBe('8000');
    expect(env['PATH']).toBe('/run/env/bin:/run/env/sbin:/usr/bin:/bin');
    expect(env['MANPATH']).toBe('/run/env/share/man:');
  });

  test('hook exports reach the command; profile.bash runs only under bash', () => {
    const plan = activationPlan(parseLockfile(lockfileBytes('kitchen-sink-profile')), base);
    const bash = run(plan, 'bash', container).env;
    expect(bash['HOOK_SECTION_VAR']).toBe('hook_section_var');
    expect(bash['PROFILE_SECTION_VAR']).toBe('profile-bash');
    expect(bash['VARS_SECTION_VAR']).toBe('vars_section_var');
    const sh = run(plan, 'sh', container).env;
    expect(sh['HOOK_SECTION_VAR']).toBe('hook_section_var');
    expect(sh['PROFILE_SECTION_VAR']).toBeUndefined();
  });

  test("the hook's stdout goes to stderr, so the command's stdout stays clean", () => {
    const plan = activationPlan(parseLockfile(lockfileBytes('kitchen-sink-profile')), base);
    const script = join(dir, 'stdout.sh');
    writeFileSync(script, activationScript({ ...plan, profile: {} }, { shell: 'sh' }));
    const out = execFileSync('/bin/busybox', ['sh', script, '/bin/busybox', 'echo', 'COMMAND'], { encoding: 'utf8', stdio: ['ignore', 'pipe', 'ignore'], timeout: 10_000 });
    expect(out).toBe('COMMAND\n');
  });

  test('a hook with a syntax error or a failing command still runs the command', () => {
    const lock = parseLockfile(minimalLockfile([], { version: 1, hook: { 'on-activate': 'false\nif then fi (\n' }, profile: { common: "export QUOTE=\"it's\"" }, options: { systems: ['x86_64-linux'] } }));
    const plan = activationPlan(lock, base);
    expect(run(plan, 'sh', {}).env['QUOTE']).toBe("it's");
  });
});

describe('one merge rule for the wrapper, the envrc and the container variables (@flox-k8s/core)', () => {
  test("a [vars]-style prepend that needs the shell joins Flox's MANPATH with one ':', as resolveActivationEnv does", () => {
    // The wrapper used to export an `expand` variable only when unset, whatever its merge:
    // a prepend then lost the container's own value. Now it is core's exportStatement.
    const plan: ActivationPlan = {
      env: [{ name: 'MANPATH', value: '$FLOX_ENV/share/man:', merge: 'prepend', expand: true }],
      hook: undefined,
      profile: {},
      needsWrapper: true,
    };
    const container = { PATH: '/usr/bin:/bin', FLOX_ENV: '/run/env', MANPATH: '/usr/share/man' };
    const { env } = run(plan, 'sh', container);
    expect(env['MANPATH']).toBe('/run/env/share/man:/usr/share/man');
    expect(resolveActivationEnv(plan, container).env['MANPATH']).toBe(env['MANPATH']);
    expect(run(plan, 'sh', { PATH: '/usr/bin:/bin', FLOX_ENV: '/run/env' }).env['MANPATH']).toBe('/run/env/share/man:');
  });
});

describe('resolveActivationEnv', () => {
  test('agrees with the shell on what it can resolve, and lists the rest', () => {
    const lock = parseLockfile(
      minimalLockfile([], { version: 1, vars: { A: '$FLOX_ENV/x', B: '${A}:$UNSET:\\$lit', C: '$(date)', D: '`id`' }, options: { systems: ['x86_64-linux'] } }),
    );
    const plan = activationPlan(lock, base);
    const resolved = resolveActivationEnv(plan, { PATH: '/bin' });
    expect(resolved.unresolved).toEqual(['C', 'D']);
    expect(resolved.env['A']).toBe('/run/env/x');
    expect(resolved.env['B']).toBe('/run/env/x::$lit');
    const shell = run({ ...plan, env: plan.env.filter((v) => v.name !== 'C' && v.name !== 'D') }, 'sh', { PATH: '/bin' }).env;
    expect(shell['A']).toBe(resolved.env['A']);
    expect(shell['B']).toBe(resolved.env['B']);
  });

  test('merge rules: prepend joins with ":" (no doubled colon for MANPATH), default keeps the container value', () => {
    const plan = activationPlan(parseLockfile(lockfileBytes('tiny-vars-hook')), base);
    const { env } = resolveActivationEnv(plan, { PATH: '/bin', MANPATH: '/usr/share/man', foo: 'mine' });
    expect(env['PATH']).toBe('/run/env/bin:/run/env/sbin:/bin');
    expect(env['MANPATH']).toBe('/run/env/share/man:/usr/share/man');
    expect(env['foo']).toBe('mine');
    expect(env['FLOX_ENV']).toBe('/run/env');
    expect(resolveActivationEnv(plan).env['foo']).toBe('bar');
  });
});
