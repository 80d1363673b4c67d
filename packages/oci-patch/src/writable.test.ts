import { describe, expect, it } from 'vitest';
import { BUSYBOX, DATA, HELLO, samplePlan, sampleSpec } from '../test/plans.ts';
import { nixMutableScratchDirs, patchSpec, type Mount, type PatchPlan } from './index.ts';

const CACHE = '/run/flox/cache';
const SCRATCH = '/var/lib/flox-k8s/mutable/c1';
const mutable = (extra: Partial<PatchPlan> = {}): PatchPlan =>
  samplePlan({ nixMutable: { scratchDir: SCRATCH, storeLower: `${SCRATCH}/empty`, directories: [HELLO, BUSYBOX] }, ...extra });
const own = new Set((sampleSpec().mounts ?? []).map((m) => m.destination));
const added = (mounts: Mount[] | undefined): Mount[] => (mounts ?? []).filter((m) => !own.has(m.destination));

describe('tmpfs directories ($FLOX_ENV_CACHE)', () => {
  it('mounts a tmpfs owned by the process user, before the closure mounts', () => {
    const spec = sampleSpec();
    (spec.process as { user: unknown }).user = { uid: 1000, gid: 100 };
    const mounts = patchSpec(spec, samplePlan({ tmpfs: [CACHE] })).mounts ?? [];
    const at = mounts.findIndex((m) => m.destination === CACHE);
    expect(mounts[at]).toEqual({ destination: CACHE, type: 'tmpfs', source: 'tmpfs', options: ['nosuid', 'nodev', 'mode=0755', 'uid=1000', 'gid=100'] });
    expect(mounts.findIndex((m) => m.destination === HELLO)).toBeGreaterThan(at);
  });

  it('keeps a volume the pod mounts there instead (it may want the cache on disk)', () => {
    const spec = sampleSpec();
    const volume = { destination: `${CACHE}/`, type: 'bind', source: '/var/lib/kubelet/pods/p/volumes/cache', options: ['rbind', 'rw'] };
    spec.mounts = [...(spec.mounts ?? []), volume];
    const mounts = patchSpec(spec, samplePlan({ tmpfs: [CACHE] })).mounts ?? [];
    expect(mounts.filter((m) => m.destination.startsWith(CACHE))).toEqual([volume]);
  });

  it('is idempotent', () => {
    const once = patchSpec(sampleSpec(), samplePlan({ tmpfs: [CACHE] }));
    expect(JSON.stringify(patchSpec(once, samplePlan({ tmpfs: [CACHE] })))).toBe(JSON.stringify(once));
  });

  it('rejects a directory under /nix or overlapping the profile (FLOXK8S_PATCH_PLAN_INVALID)', () => {
    for (const dir of ['/nix/cache', '/run/flox/environment/cache', '/run/flox', 'relative']) {
      expect(() => patchSpec(sampleSpec(), samplePlan({ tmpfs: [dir] }))).toThrow(expect.objectContaining({ code: 'FLOXK8S_PATCH_PLAN_INVALID', path: 'tmpfs[0]' }));
    }
  });
});

describe('flox.dev/nix-mutable overlays', () => {
  it('makes /nix/store and each directory of the closure an overlay over the node store; files stay read-only binds', () => {
    const mounts = added(patchSpec(sampleSpec(), mutable()).mounts);
    expect(mounts.map((m) => [m.destination, m.type])).toEqual([
      ['/nix/store', 'overlay'],
      [BUSYBOX, 'overlay'],
      [DATA, 'bind'],
      [HELLO, 'overlay'],
      ['/run/flox/environment', 'bind'],
    ]);
    const dirs = nixMutableScratchDirs(mutable().nixMutable as NonNullable<PatchPlan['nixMutable']>);
    expect(mounts[0]).toEqual({
      destination: '/nix/store',
      type: 'overlay',
      source: 'overlay',
      options: [`lowerdir=${mutable().storeView.hostPath}:${SCRATCH}/empty`, `upperdir=${SCRATCH}/store/upper`, `workdir=${SCRATCH}/store/work`, 'nosuid', 'nodev'],
    });
    const base = BUSYBOX.slice('/nix/store/'.length);
    expect(mounts[1]?.options).toEqual([
      `lowerdir=/var/lib/flox-k8s/store/${base}`,
      `upperdir=${SCRATCH}/paths/${base}/upper`,
      `workdir=${SCRATCH}/paths/${base}/work`,
      'nosuid',
      'nodev',
    ]);
    // What the caller must create is exactly what the mounts name.
    expect(dirs.store).toEqual({ upper: `${SCRATCH}/store/upper`, work: `${SCRATCH}/store/work` });
    expect(dirs.paths.map((d) => d.storePath)).toEqual([BUSYBOX, HELLO]);
    expect(mounts[2]?.options).toEqual(['rbind', 'ro', 'nosuid', 'nodev']);
  });

  it('is idempotent', () => {
    const once = patchSpec(sampleSpec(), mutable({ tmpfs: [CACHE] }));
    expect(JSON.stringify(patchSpec(once, mutable({ tmpfs: [CACHE] })))).toBe(JSON.stringify(once));
  });

  it('rejects overlay paths holding "," or ":" and directories outside the closure', () => {
    const bad = (nixMutable: NonNullable<PatchPlan['nixMutable']>, path: string) =>
      expect(() => patchSpec(sampleSpec(), samplePlan({ nixMutable }))).toThrow(expect.objectContaining({ code: 'FLOXK8S_PATCH_PLAN_INVALID', path }));
    bad({ scratchDir: '/var/x,lowerdir=/', storeLower: '/e', directories: [] }, 'nixMutable.scratchDir');
    bad({ scratchDir: '/var/x', storeLower: '/a:/b', directories: [] }, 'nixMutable.storeLower');
    bad({ scratchDir: '/var/x', storeLower: '/e', directories: ['/nix/store/00000000000000000000000000000000-other'] }, 'nixMutable.directories[0]');
    expect(() => patchSpec(sampleSpec(), mutable({ hostStoreDir: '/var/lib/a:b' }))).toThrow(expect.objectContaining({ code: 'FLOXK8S_PATCH_PLAN_INVALID', path: 'hostStoreDir' }));
  });
});
