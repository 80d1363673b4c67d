import { describe, expect, it } from 'vitest';
import { BUSYBOX, samplePlan } from '../test/plans.ts';
import { parseStorePath, validateExecPlan, validatePatchPlan, type PatchPlan } from './plan.ts';

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
    ['a profile at a store path outside the closure', { profile: { hostPath: '/p', containerPath: '/nix/store/11111111111111111111111111111111-flox-profile' } }, 'profile.containerPath'],
    ['no store view', { storeView: undefined as never }, 'storeView'],
    ['a relative store view', { storeView: { hostPath: 'view', symlinks: [] } }, 'storeView.hostPath'],
    ['a symlink outside the closure', { storeView: { hostPath: '/v', symlinks: ['/nix/store/11111111111111111111111111111111-other'] } }, 'storeView.symlinks[0]'],
    ['the host store dir as store view', { storeView: { hostPath: '/var/lib/flox-k8s/store', symlinks: [] } }, 'storeView.hostPath'],
    ['a store view above the host store dir', { storeView: { hostPath: '/var/lib', symlinks: [] } }, 'storeView.hostPath'],
    ['a profile above the host store dir', { profile: { hostPath: '/var/lib/flox-k8s', containerPath: '/run/flox' } }, 'profile.hostPath'],
    ['a relative profile host path', { profile: { hostPath: 'p', containerPath: '/run/flox' } }, 'profile.hostPath'],
    ['a variable name with =', { env: [{ name: 'A=B', value: '', merge: 'set' }] }, 'env[0].name'],
    ['an unknown merge', { env: [{ name: 'A', value: '', merge: 'append' as 'set' }] }, 'env[0].merge'],
    ['a relative wrapper shell', { wrapper: { shell: 'sh', script: '/hook.sh' } }, 'wrapper.shell'],
    ['an uppercase digest', { applied: { environment: 'a/b', digest: 'AB'.repeat(32) } }, 'applied.digest'],
    ['an empty environment', { applied: { environment: '', digest: 'ab'.repeat(32) } }, 'applied.environment'],
    ['a mounted view flag that is not a boolean', { storeView: { hostPath: '/v', symlinks: [], mounted: 'yes' as unknown as boolean } }, 'storeView.mounted'],
    [
      'a mounted view for a nix-mutable container',
      { storeView: { hostPath: '/v', symlinks: [], mounted: true }, nixMutable: { scratchDir: '/s', storeLower: '/s/empty', directories: [] } },
      'storeView.mounted',
    ],
  ];
  it.each(cases)('rejects %s', (_name, overrides, path) => {
    expect(() => validatePatchPlan(samplePlan(overrides))).toThrow(invalid(path));
  });

  it('accepts symlinks of the closure and a view beside the store dir', () => {
    const storeView = { hostPath: '/var/lib/flox-k8s/store-view', symlinks: [BUSYBOX] };
    expect(validatePatchPlan(samplePlan({ storeView })).storeView).toEqual(storeView);
  });
});

describe('validateExecPlan', () => {
  it('reads env and wrapper only, so a plan written before storeView existed still serves exec', () => {
    const { storeView: _view, ...old } = samplePlan();
    expect(validateExecPlan(old)).toEqual({ env: samplePlan().env, wrapper: samplePlan().wrapper });
    expect(() => validateExecPlan({ env: [{ name: 'A=B', value: '', merge: 'set' }] })).toThrow(invalid('env[0].name'));
  });
});
