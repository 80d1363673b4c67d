import { describe, expect, it } from 'vitest';
import type * as errors from './errors.ts';
import { OciMountCollisionError, OciPatchError, OciSpecInvalidError } from './errors.ts';

describe('errors', () => {
  it('carry stable codes and causes', () => {
    const cause = new Error('inner');
    const err = new OciSpecInvalidError('process.env[1]', 'expected NAME=value', { cause });
    expect(err.code).toBe('FLOXK8S_SPEC_INVALID');
    expect(err.path).toBe('process.env[1]');
    expect(err.message).toBe('process.env[1]: expected NAME=value');
    expect(err.cause).toBe(cause);
    expect(err).toBeInstanceOf(OciPatchError);
    expect(err).toBeInstanceOf(Error);
    expect(err).not.toBeInstanceOf(OciMountCollisionError);
  });

  it('keep instanceof across duplicate installs (the @flox-k8s/core brand)', async () => {
    // A second evaluation of the module is a second set of classes: what a duplicate install gives.
    const second = new URL('./errors.ts?copy', import.meta.url).href;
    const copy = (await import(/* @vite-ignore */ second)) as typeof errors;
    expect(copy.OciMountCollisionError).not.toBe(OciMountCollisionError);
    const foreign = new copy.OciMountCollisionError('/nix/store', { type: 'bind', source: '/x' });
    expect(foreign).toBeInstanceOf(OciPatchError);
    expect(foreign).toBeInstanceOf(OciMountCollisionError);
    expect(foreign).not.toBeInstanceOf(OciSpecInvalidError);
    expect(Object.assign(new Error('x'), { code: 'FLOXK8S_MOUNT_COLLISION' })).not.toBeInstanceOf(OciPatchError);
  });
});
