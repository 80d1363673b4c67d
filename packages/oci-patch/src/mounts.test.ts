import { describe, expect, it } from 'vitest';
import { BUSYBOX, DATA, HELLO, samplePlan } from '../test/plans.ts';
import { mergeMounts, planMounts } from './mounts.ts';
import type { Mount } from './spec-schema.ts';

const OPTIONS = ['rbind', 'ro', 'nosuid', 'nodev'];

describe('planMounts', () => {
  it('adds one read-only bind per store path and the profile, sorted and unique', () => {
    const mounts = planMounts(samplePlan({ storePaths: [HELLO, BUSYBOX, DATA, BUSYBOX] }));
    expect(mounts.map((m) => m.destination)).toEqual([BUSYBOX, DATA, HELLO, '/run/flox/environment']);
    expect(mounts[0]).toEqual({
      destination: BUSYBOX,
      type: 'bind',
      source: '/var/lib/flox-k8s/store/0c6kzph7l6pd2gi8nx8jgwhg6l4zal27-busybox-1.36.1',
      options: OPTIONS,
    });
    expect(mounts[3]).toEqual({ destination: '/run/flox/environment', type: 'bind', source: samplePlan().profile.hostPath, options: OPTIONS });
  });
});

describe('mergeMounts', () => {
  const ours = planMounts(samplePlan());
  const proc: Mount = { destination: '/proc', type: 'proc', source: 'proc' };

  it('keeps existing mounts in order and appends ours', () => {
    const volume: Mount = { destination: '/data', type: 'bind', source: '/host/data', options: ['rbind', 'rw'] };
    expect(mergeMounts([volume, proc], ours)).toEqual([volume, proc, ...ours]);
  });

  it('is a FLOXK8S_MOUNT_COLLISION when a non-/nix mount sits where the profile goes', () => {
    const clash: Mount = { destination: '/run/flox/environment/', type: 'bind', source: '/host/other' };
    expect(() => mergeMounts([proc, clash], ours)).toThrow(
      expect.objectContaining({ code: 'FLOXK8S_MOUNT_COLLISION', destination: '/run/flox/environment' }),
    );
  });

  it('replaces an existing mount at a closure destination under /nix', () => {
    const podStore: Mount = { destination: BUSYBOX, type: 'bind', source: '/somewhere/else', options: ['rw'] };
    expect(mergeMounts([proc, podStore], ours)).toEqual([proc, ...ours]);
  });

  it('drops its own earlier mounts (patching twice adds nothing)', () => {
    const once = mergeMounts([proc], ours);
    expect(mergeMounts(once, ours)).toEqual(once);
  });

  it('leaves a mount at /nix itself in place, before ours', () => {
    const nix: Mount = { destination: '/nix', type: 'tmpfs', source: 'tmpfs' };
    expect(mergeMounts([nix], ours)).toEqual([nix, ...ours]);
  });
});
