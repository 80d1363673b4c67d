import { describe, expect, test } from 'vitest';
import { activationPlan, parseLockfile, type ActivationOptions, type Lockfile } from './index.ts';
import { fakeStorePath, lockfileBytes, minimalLockfile } from './test-fixtures.ts';

const ENV = '/run/flox-env';
const base: ActivationOptions = { system: 'x86_64-linux', mode: 'run', envDir: ENV };
const load = (name: string): Lockfile => parseLockfile(lockfileBytes(name));
const names = (lock: Lockfile, options: Partial<ActivationOptions> = {}): string[] =>
  activationPlan(lock, { ...base, ...options }).env.map((v) => v.name);

describe('activationPlan: variables in the order Flox sets them', () => {
  test('run mode, no closure, no vars', () => {
    const plan = activationPlan(load('hello-4systems'), base);
    expect(plan.env).toEqual([
      { name: 'PATH', value: `${ENV}/bin:${ENV}/sbin`, merge: 'prepend' },
      { name: 'MANPATH', value: `${ENV}/share/man:`, merge: 'prepend' },
      { name: 'FLOX_ENV', value: ENV, merge: 'set' },
      { name: 'INFOPATH', value: `${ENV}/share/info`, merge: 'prepend' },
      { name: 'XDG_DATA_DIRS', value: `${ENV}/share`, merge: 'prepend' },
    ]);
    expect(plan.hook).toBeUndefined();
    expect(plan.profile).toEqual({});
    expect(plan.needsWrapper).toBe(false);
  });

  test('dev mode adds the compiler and pkg-config paths; cache and project dirs are set', () => {
    const plan = activationPlan(load('hello-4systems'), { ...base, mode: 'dev', cacheDir: '/cache', projectDir: '/work' });
    expect(plan.env.map((v) => `${v.name}=${v.value}`)).toEqual([
      `PATH=${ENV}/bin:${ENV}/sbin`,
      `MANPATH=${ENV}/share/man:`,
      `FLOX_ENV=${ENV}`,
      'FLOX_ENV_CACHE=/cache',
      'FLOX_ENV_PROJECT=/work',
      `INFOPATH=${ENV}/share/info`,
      `XDG_DATA_DIRS=${ENV}/share`,
      `CPATH=${ENV}/include`,
      `LIBRARY_PATH=${ENV}/lib`,
      `PKG_CONFIG_PATH=${ENV}/lib/pkgconfig:${ENV}/share/pkgconfig`,
      `ACLOCAL_PATH=${ENV}/share/aclocal`,
    ]);
  });

  test('SSL_CERT_FILE, NIX_SSL_CERT_FILE and LOCALE_ARCHIVE come from the closure, as defaults', () => {
    const cacert = fakeStorePath('nss-cacert-3.108', '3');
    const locales = fakeStorePath('glibc-locales-2.40-66', '4');
    const closure = [fakeStorePath('nss-cacert-3.108-unbundled', '5'), cacert, locales, fakeStorePath('glibc-2.40-66', '6')];
    const plan = activationPlan(load('hello-4systems'), { ...base, closure });
    expect(plan.env.slice(-3)).toEqual([
      { name: 'SSL_CERT_FILE', value: `${cacert}/etc/ssl/certs/ca-bundle.crt`, merge: 'default' },
      { name: 'NIX_SSL_CERT_FILE', value: `${cacert}/etc/ssl/certs/ca-bundle.crt`, merge: 'default' },
      { name: 'LOCALE_ARCHIVE', value: `${locales}/lib/locale/locale-archive`, merge: 'default' },
    ]);
    // LOCALE_ARCHIVE is a glibc (Linux) variable; Flox sets it only on Linux.
    expect(names(load('hello-4systems'), { system: 'aarch64-darwin', closure })).not.toContain('LOCALE_ARCHIVE');
    expect(names(load('hello-4systems'), { closure: [fakeStorePath('glibc-2.40-66', '6')] })).not.toContain('SSL_CERT_FILE');
  });

  test('[vars] come last, sorted by name, as defaults; shell syntax is flagged for expansion', () => {
    const plan = activationPlan(load('floxai-large'), base);
    const vars = plan.env.slice(5);
    expect(vars.map((v) => v.name)).toEqual([
      'FLOXAI_API_PORT', 'FLOXAI_DB_PATH', 'FLOXAI_DEV_MODE', 'FLOXAI_DOCS_PATH', 'FLOXAI_LOG_LEVEL',
      'FLOXAI_PROJECT_ROOT', 'FLOXAI_UI_PORT', 'FLOXAI_VECTOR_DB_PATH', 'FLOXAI_VERSION', 'PYTHONPATH',
    ]);
    expect(vars.filter((v) => v.merge !== 'default').map((v) => v.name)).toEqual(['PYTHONPATH']);
    // It extends the container's own PYTHONPATH, as Flox's `export PYTHONPATH="…:$PYTHONPATH"` does.
    expect(vars.find((v) => v.name === 'PYTHONPATH')).toEqual({ name: 'PYTHONPATH', value: '$FLOX_ENV_PROJECT/backend:$PYTHONPATH', merge: 'set', expand: true });
    expect(vars.find((v) => v.name === 'FLOXAI_DB_PATH')).toEqual({ name: 'FLOXAI_DB_PATH', value: '$FLOX_ENV_PROJECT/data/floxai.db', merge: 'default', expand: true });
    expect(vars.find((v) => v.name === 'FLOXAI_API_PORT')).toEqual({ name: 'FLOXAI_API_PORT', value: '8000', merge: 'default' });
    expect(plan.needsWrapper).toBe(true);
  });

  test('vars order is by code unit (Nix attrNames), so upper case sorts before lower case', () => {
    const lock = parseLockfile(minimalLockfile([], { version: 1, vars: { b: '1', B: '2', a: '3', _x: '4' }, options: { systems: ['x86_64-linux'] } }));
    expect(activationPlan(lock, base).env.slice(5).map((v) => v.name)).toEqual(['B', '_x', 'a', 'b']);
  });
});

describe('activationPlan: hook, profile and the wrapper', () => {
  test('hook and profile scripts are outdented like Flox does', () => {
    const plan = activationPlan(load('kitchen-sink-profile'), base);
    expect(plan.hook).toBe('echo "running on-activate"\necho "VARS_SECTION_VAR: $VARS_SECTION_VAR"\nexport HOOK_SECTION_VAR="hook_section_var"\n');
    expect(plan.profile.common).toBe('echo "running profile-common"\necho "HOOK_SECTION_VAR: $HOOK_SECTION_VAR"\n');
    expect(plan.profile.fish).toBe('alias profile_alias="echo fish"\nset -gx PROFILE_SECTION_VAR profile-fish\n');
    expect(Object.keys(plan.profile).sort()).toEqual(['bash', 'common', 'fish', 'tcsh', 'zsh']);
    expect(plan.needsWrapper).toBe(true);
  });

  test('a hook alone needs the wrapper', () => {
    const plan = activationPlan(load('tiny-vars-hook'), base);
    expect(plan.hook).toBe('mkdir -p dummy_dir\nexport foo="baz"\n');
    expect(plan.env.at(-1)).toEqual({ name: 'foo', value: 'bar', merge: 'default' });
    expect(plan.needsWrapper).toBe(true);
  });

  test('plain [vars] alone do not need the wrapper; only a zsh profile does not either', () => {
    const plain = parseLockfile(minimalLockfile([], { version: 1, vars: { A: 'x' }, profile: { zsh: 'bindkey -v' }, options: { systems: ['x86_64-linux'] } }));
    expect(activationPlan(plain, base).needsWrapper).toBe(false);
    const expanding = parseLockfile(minimalLockfile([], { version: 1, vars: { A: '$(date)' }, options: { systems: ['x86_64-linux'] } }));
    expect(activationPlan(expanding, base).needsWrapper).toBe(true);
    const blankHook = parseLockfile(minimalLockfile([], { version: 1, hook: { 'on-activate': '  \n ' }, options: { systems: ['x86_64-linux'] } }));
    expect(activationPlan(blankHook, base)).toMatchObject({ hook: undefined, needsWrapper: false });
  });

  test('a bash-only profile needs the wrapper (Flox runs profile.bash for bash)', () => {
    const lock = load('mina-indexer-mixed-flake');
    const plan = activationPlan(lock, base);
    expect(Object.keys(plan.profile).sort()).toEqual(['bash', 'zsh']);
    expect(plan.needsWrapper).toBe(true);
  });
});

describe('activationPlan: bad options and systems', () => {
  test.each([
    ['relative envDir', { envDir: 'env' }],
    ['envDir with a colon', { envDir: '/a:b' }],
    ['relative cacheDir', { cacheDir: 'cache' }],
    ['bad mode', { mode: 'build' as 'run' }],
  ])('%s', (_label, options) => {
    expect(() => activationPlan(load('hello-4systems'), { ...base, ...options })).toThrow(
      expect.objectContaining({ code: 'FLOXK8S_ACTIVATION_OPTIONS_INVALID' }) as Error,
    );
  });

  test('a system the lockfile lacks', () => {
    expect(() => activationPlan(load('kitchen-sink-profile'), { ...base, system: 'x86_64-darwin' })).toThrow(
      expect.objectContaining({ code: 'FLOXK8S_SYSTEM_NOT_IN_LOCKFILE' }) as Error,
    );
  });

  test('a trailing slash on envDir is dropped', () => {
    expect(activationPlan(load('hello-4systems'), { ...base, envDir: `${ENV}/` }).env[0]?.value).toBe(`${ENV}/bin:${ENV}/sbin`);
  });
});
