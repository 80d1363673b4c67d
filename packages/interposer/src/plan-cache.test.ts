import { mkdirSync, mkdtempSync, rmSync, symlinkSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { PatchPlan } from '@flox-k8s/oci-patch';
import { PROFILE_FORMAT } from '@flox-k8s/store';
import { afterAll, describe, expect, it } from 'vitest';
import { cachedPlanUsable, loadCachedPlan, PLAN_CACHE_FORMAT, writeCachedPlan } from './plan-cache.ts';

describe('plan cache', () => {
  const root = mkdtempSync(join(tmpdir(), 'shim-plan-cache-'));
  afterAll(() => rmSync(root, { recursive: true, force: true }));
  const key = { digest: 'a'.repeat(64), system: 'x86_64-linux', mode: 'run' };
  const base = '00000000000000000000000000000000-hello';
  mkdirSync(join(root, 'store', base), { recursive: true });
  mkdirSync(join(root, 'profiles', 'p', '.flox-k8s', 'nix-store'), { recursive: true });
  const plan: PatchPlan = {
    hostStoreDir: join(root, 'store'),
    storePaths: [`/nix/store/${base}`],
    storeView: { hostPath: join(root, 'profiles', 'p', '.flox-k8s', 'nix-store'), symlinks: [] },
    profile: { hostPath: join(root, 'profiles', 'p'), containerPath: '/run/flox-k8s/env' },
    env: [{ name: 'PATH', value: '/run/flox-k8s/env/bin', merge: 'prepend' }],
    applied: { environment: 'acme/hello', digest: key.digest },
  };

  it('follows the store profile format, so plans naming older profiles are not reused', () => {
    expect(PLAN_CACHE_FORMAT).toBe(PROFILE_FORMAT);
    // A plan left by a version with another profile format, where the old layout kept it.
    mkdirSync(join(root, 'shim', 'plans'), { recursive: true });
    writeFileSync(join(root, 'shim', 'plans', `${key.digest}-${key.system}-${key.mode}.json`), JSON.stringify(plan));
    expect(loadCachedPlan(root, key)).toBeUndefined();
  });

  it('returns a written plan (without `applied`) while its mounts pass verification, and nothing once one is gone', () => {
    writeCachedPlan(root, key, plan);
    const { applied: _applied, ...cached } = plan;
    const loaded = loadCachedPlan(root, key);
    expect(loaded).toEqual(cached);
    const self = (p: string): string => p;
    expect(cachedPlanUsable(loaded as typeof cached, root, self)).toBe(true);
    // Through the caller's root, as the node agent's patch service checks them.
    expect(cachedPlanUsable(loaded as typeof cached, root, (p) => `/proc/${process.pid}/root${p}`)).toBe(true);
    rmSync(join(root, 'store', base), { recursive: true });
    expect(cachedPlanUsable(loaded as typeof cached, root, self)).toBe(false);
  });

  it('refuses (does not realise again) a cached plan whose mount source was replaced by a symlink', () => {
    symlinkSync('/etc', join(root, 'store', base));
    const { applied: _applied, ...cached } = plan;
    let thrown: unknown;
    try {
      cachedPlanUsable(cached, root, (p) => p);
    } catch (error) {
      thrown = error;
    }
    expect(thrown).toMatchObject({ code: 'FLOXK8S_MOUNT_SOURCE_INVALID', problem: 'symlink' });
    rmSync(join(root, 'store', base));
  });

  it('counts a symlink store path (an entry of the view, not mounted) as gone once it is', () => {
    const link = '11111111111111111111111111111111-link';
    mkdirSync(join(root, 'store', base), { recursive: true });
    symlinkSync(base, join(root, 'store', link));
    const { applied: _applied, ...cached } = plan;
    const withLink = { ...cached, storePaths: [...cached.storePaths, `/nix/store/${link}`], storeView: { ...cached.storeView, symlinks: [`/nix/store/${link}`] } };
    expect(cachedPlanUsable(withLink, root, (p) => p)).toBe(true);
    rmSync(join(root, 'store', link));
    expect(cachedPlanUsable(withLink, root, (p) => p)).toBe(false);
  });

  it('keeps a read plan parsed and frozen while its file is unchanged, and reads a rewritten one again', () => {
    writeCachedPlan(root, key, plan);
    const first = loadCachedPlan(root, key);
    expect(loadCachedPlan(root, key)).toBe(first);
    expect(Object.isFrozen(first?.storePaths)).toBe(true);
    writeCachedPlan(root, key, { ...plan, env: [] });
    const rewritten = loadCachedPlan(root, key);
    expect(rewritten).not.toBe(first);
    expect(rewritten?.env).toEqual([]);
  });
});
