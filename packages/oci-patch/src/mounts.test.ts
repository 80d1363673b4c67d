import { describe, expect, it } from 'vitest';
import { BUSYBOX, DATA, HELLO, samplePlan } from '../test/plans.ts';
import { mergeMounts, planMounts } from './mounts.ts';
import type { Mount } from './spec-schema.ts';

const OPTIONS = ['rbind', 'ro', 'nosuid', 'nodev'];

describe('planMounts', () => {
  const VIEW = samplePlan().storeView.hostPath;

  it('mounts the store view at /nix/store, one read-only bind per store path and the profile, sorted and unique', () => {
    const mounts = planMounts(samplePlan({ storePaths: [HELLO, BUSYBOX, DATA, BUSYBOX] }));
    expect(mounts.map((m) => m.destination)).toEqual(['/nix/store', BUSYBOX, DATA, HELLO, '/run/flox/environment']);
    expect(mounts[0]).toEqual({ destination: '/nix/store', type: 'bind', source: VIEW, options: OPTIONS });
    expect(mounts[1]).toEqual({
      destination: BUSYBOX,
      type: 'bind',
      source: '/var/lib/flox-k8s/store/0c6kzph7l6pd2gi8nx8jgwhg6l4zal27-busybox-1.36.1',
      options: OPTIONS,
    });
    expect(mounts[4]).toEqual({ destination: '/run/flox/environment', type: 'bind', source: samplePlan().profile.hostPath, options: OPTIONS });
  });

  it('never bind-mounts a store path whose root is a symlink: the view holds the link', () => {
    const mounts = planMounts(samplePlan({ storeView: { hostPath: VIEW, symlinks: [DATA] } }));
    expect(mounts.map((m) => m.destination)).toEqual(['/nix/store', BUSYBOX, HELLO, '/run/flox/environment']);
    expect(mounts.map((m) => m.source)).not.toContain(`/var/lib/flox-k8s/store/${DATA.slice('/nix/store/'.length)}`);
  });

  it('adds no per-path mount when the view is mounted on the host: the recursive bind of the view carries them', () => {
    const mounts = planMounts(samplePlan({ storeView: { hostPath: VIEW, symlinks: [DATA], mounted: true } }));
    expect(mounts).toEqual([
      { destination: '/nix/store', type: 'bind', source: VIEW, options: OPTIONS },
      { destination: '/run/flox/environment', type: 'bind', source: samplePlan().profile.hostPath, options: OPTIONS },
    ]);
  });

  it('puts a profile that sorts before /nix/store first', () => {
    const mounts = planMounts(samplePlan({ profile: { hostPath: '/p', containerPath: '/flox/env' } }));
    expect(mounts.map((m) => m.destination)).toEqual(['/flox/env', '/nix/store', BUSYBOX, DATA, HELLO]);
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

  it('replaces a volume the pod mounts at /nix/store, and puts the view over volumes inside it', () => {
    const podStore: Mount = { destination: '/nix/store/', type: 'bind', source: '/host/nix/store', options: ['rbind', 'rw'] };
    const inside: Mount = { destination: '/nix/store/extra', type: 'bind', source: '/host/extra', options: ['rbind', 'rw'] };
    const merged = mergeMounts([proc, podStore, inside], ours);
    expect(merged).toEqual([proc, inside, ...ours]);
    // runc mounts in order: the read-only view at /nix/store comes after the volume inside it, hiding it.
    expect(merged.findIndex((m) => m.destination === '/nix/store')).toBeGreaterThan(merged.indexOf(inside));
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
