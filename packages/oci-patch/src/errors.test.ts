import { describe, expect, it } from 'vitest';
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

  it('keep instanceof across duplicate installs through the Symbol.for brand', () => {
    // What a second copy of this package would throw: same brand, different class.
    const foreign = Object.assign(new Error('x'), { code: 'FLOXK8S_MOUNT_COLLISION' });
    Object.defineProperty(foreign, Symbol.for('flox-k8s.oci-patch.error'), { value: true });
    expect(foreign).toBeInstanceOf(OciPatchError);
    expect(foreign).toBeInstanceOf(OciMountCollisionError);
    expect(foreign).not.toBeInstanceOf(OciSpecInvalidError);
    expect(Object.assign(new Error('x'), { code: 'FLOXK8S_MOUNT_COLLISION' })).not.toBeInstanceOf(OciPatchError);
  });
});
