import { describe, expect, it } from 'vitest';
import { BUSYBOX, samplePlan } from '../test/plans.ts';
import { parseStorePath, validatePatchPlan, type PatchPlan } from './plan.ts';

const invalid = (path: string) => expect.objectContaining({ code: 'FLOXK8S_PATCH_PLAN_INVALID', path });

describe('parseStorePath', () => {
  it('splits a store path', () => {
    expect(parseStorePath(BUSYBOX)).toEqual({
      path: BUSYBOX,
      base: '0c6kzph7l6pd2gi8nx8jgwhg6l4zal27-busybox-1.36.1',
      hash: '0c6kzph7l6pd2gi8nx8jgwhg6l4zal27',
      name: 'busybox-1.36.1',
    });
  });

  it.each([
    '/nix/store/0c6kzph7l6pd2gi8nx8jgwhg6l4zal27-busybox/bin/sh', // a path inside a store path
    '/nix/store/0c6kzph7l6pd2gi8nx8jgwhg6l4zal27-..',
    '/nix/store/0c6kzph7l6pd2gi8nx8jgwhg6l4zal27-.-hidden', // Nix rejects ., .., .-x, ..-x (a plain leading '.' is valid since Nix 2.20)
    '/nix/store/0c6kzph7l6pd2gi8nx8jgwhg6l4zal2e-busybox', // 'e' is not nix32
    '/nix/store/0c6kzph7l6pd2gi8nx8jgwhg6l4zal2-busybox', // 31 chars
    '/nix/store/../etc-passwd0000000000000000000000000',
    '/other/store/0c6kzph7l6pd2gi8nx8jgwhg6l4zal27-busybox',
    `/nix/store/0c6kzph7l6pd2gi8nx8jgwhg6l4zal27-${'a'.repeat(212)}`,
    '/nix/store/0c6kzph7l6pd2gi8nx8jgwhg6l4zal27-a b',
  ])('rejects %s', (p) => {
    expect(parseStorePath(p)).toBeUndefined();
  });
});

describe('validatePatchPlan', () => {
  it('accepts the sample plan', () => {
    expect(validatePatchPlan(samplePlan())).toEqual(samplePlan());
  });

  const cases: Array<[string, Partial<PatchPlan>, string]> = [
    ['a store path with a subpath', { storePaths: [BUSYBOX, `${BUSYBOX}/bin`] }, 'storePaths[1]'],
    ['a relative host store dir', { hostStoreDir: 'store' }, 'hostStoreDir'],
    ['a host store dir with ..', { hostStoreDir: '/var/lib/../../etc' }, 'hostStoreDir'],
    ['a host store dir with a trailing /', { hostStoreDir: '/var/lib/store/' }, 'hostStoreDir'],
    ['/ as host store dir', { hostStoreDir: '/' }, 'hostStoreDir'],
    ['a profile at /', { profile: { hostPath: '/p', containerPath: '/' } }, 'profile.containerPath'],
    ['a profile over /nix', { profile: { hostPath: '/p', containerPath: '/nix' } }, 'profile.containerPath'],
    ['a profile over /nix/store', { profile: { hostPath: '/p', containerPath: '/nix/store' } }, 'profile.containerPath'],
    ['a profile inside a store path', { profile: { hostPath: '/p', containerPath: `${BUSYBOX}/etc` } }, 'profile.containerPath'],
    ['a profile on a closure path', { profile: { hostPath: '/p', containerPath: BUSYBOX } }, 'profile.containerPath'],
    ['a relative profile host path', { profile: { hostPath: 'p', containerPath: '/run/flox' } }, 'profile.hostPath'],
    ['a variable name with =', { env: [{ name: 'A=B', value: '', merge: 'set' }] }, 'env[0].name'],
    ['an unknown merge', { env: [{ name: 'A', value: '', merge: 'append' as 'set' }] }, 'env[0].merge'],
    ['a relative wrapper shell', { wrapper: { shell: 'sh', script: '/hook.sh' } }, 'wrapper.shell'],
    ['an uppercase digest', { applied: { environment: 'a/b', digest: 'AB'.repeat(32) } }, 'applied.digest'],
    ['an empty environment', { applied: { environment: '', digest: 'ab'.repeat(32) } }, 'applied.environment'],
  ];
  it.each(cases)('rejects %s', (_name, overrides, path) => {
    expect(() => validatePatchPlan(samplePlan(overrides))).toThrow(invalid(path));
  });

  it('allows a profile that is itself a store path outside the closure', () => {
    const containerPath = '/nix/store/11111111111111111111111111111111-flox-profile';
    expect(validatePatchPlan(samplePlan({ profile: { hostPath: '/p', containerPath } })).profile.containerPath).toBe(containerPath);
  });
});
