import { describe, expect, test } from 'vitest';
import * as errors from './errors.ts';

describe('coded errors', () => {
  test('each class has its code, a name, and is a LockfileError and an Error', () => {
    const cases: Array<[errors.LockfileError, string]> = [
      [new errors.LockfileInvalidError([{ path: 'packages[0]', message: 'bad' }]), 'FLOXK8S_LOCKFILE_INVALID'],
      [new errors.LockfileVersionUnsupportedError(2), 'FLOXK8S_LOCKFILE_VERSION_UNSUPPORTED'],
      [new errors.SystemNotInLockfileError('riscv64-linux', ['x86_64-linux']), 'FLOXK8S_SYSTEM_NOT_IN_LOCKFILE'],
      [new errors.EnvironmentRefInvalidError('x', 'bad'), 'FLOXK8S_ENV_REF_INVALID'],
      [new errors.ActivationOptionsInvalidError('bad'), 'FLOXK8S_ACTIVATION_OPTIONS_INVALID'],
    ];
    for (const [error, code] of cases) {
      expect(error.code).toBe(code);
      expect(error).toBeInstanceOf(errors.LockfileError);
      expect(error).toBeInstanceOf(Error);
      expect(error.name).toBe(error.constructor.name);
    }
    expect(new errors.LockfileInvalidError([])).not.toBeInstanceOf(errors.SystemNotInLockfileError);
    expect(new Error('x')).not.toBeInstanceOf(errors.LockfileError);
    expect({ code: 'FLOXK8S_LOCKFILE_INVALID' }).not.toBeInstanceOf(errors.LockfileInvalidError);
  });

  test('instanceof holds across two copies of the module (duplicate installs)', async () => {
    // A second evaluation of the module is a second set of classes: what a duplicate install gives.
    const second = new URL('./errors.ts?copy', import.meta.url).href;
    const copy = (await import(/* @vite-ignore */ second)) as typeof errors;
    expect(copy.LockfileInvalidError).not.toBe(errors.LockfileInvalidError);
    const foreign = new copy.LockfileInvalidError([{ path: '', message: 'x' }]);
    expect(foreign).toBeInstanceOf(errors.LockfileInvalidError);
    expect(foreign).toBeInstanceOf(errors.LockfileError);
    expect(foreign).not.toBeInstanceOf(errors.EnvironmentRefInvalidError);
  });

  test('messages say what was expected, what was found and what to do', () => {
    const e = new errors.SystemNotInLockfileError('riscv64-linux', ['aarch64-linux', 'x86_64-linux']);
    expect(e.message).toContain('"riscv64-linux"');
    expect(e.message).toContain('aarch64-linux, x86_64-linux');
    expect(e.message).toContain('options.systems');
    const v = new errors.LockfileVersionUnsupportedError(0);
    expect(v.message).toContain('expected 1, found 0');
  });

  test('cause is kept', () => {
    const cause = new SyntaxError('boom');
    expect(new errors.LockfileInvalidError([{ path: '', message: 'x' }], { cause }).cause).toBe(cause);
  });
});
