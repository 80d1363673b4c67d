import { describe, expect, it } from 'vitest';
import { FixtureLockTimeoutError, FixtureManifestInvalidError, NixCommandError, NixFixturesError } from './errors.ts';

describe('fixture errors', () => {
  it('are instances of their own class and the base only (not every one a NixCommandError)', () => {
    const lock = new FixtureLockTimeoutError('/tmp/lock', 1000, 'pid 1');
    const nix = new NixCommandError('nix-build', 1, 'boom');
    expect(lock).toMatchObject({ code: 'FLOXK8S_FIXTURE_LOCK_TIMEOUT', name: 'FixtureLockTimeoutError' });
    expect(lock).toBeInstanceOf(FixtureLockTimeoutError);
    expect(lock).toBeInstanceOf(NixFixturesError);
    expect(lock).not.toBeInstanceOf(NixCommandError);
    expect(lock).not.toBeInstanceOf(FixtureManifestInvalidError);
    expect(nix).toBeInstanceOf(NixCommandError);
    expect(nix).not.toBeInstanceOf(FixtureLockTimeoutError);
    expect(new Error('x')).not.toBeInstanceOf(NixFixturesError);
  });
});
