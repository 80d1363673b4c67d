import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { PatchPlan } from '@flox-k8s/oci-patch';
import { PROFILE_FORMAT } from '@flox-k8s/store';
import { afterAll, describe, expect, it } from 'vitest';
import { loadCachedPlan, planMountsExist, PLAN_CACHE_FORMAT, writeCachedPlan } from './plan-cache.ts';

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

  it('returns a written plan (without `applied`) while its mounts exist, and nothing once one is gone', () => {
    writeCachedPlan(root, key, plan);
    const { applied: _applied, ...cached } = plan;
    const loaded = loadCachedPlan(root, key);
    expect(loaded).toEqual(cached);
    expect(planMountsExist(loaded as typeof cached)).toBe(true);
    rmSync(join(root, 'store', base), { recursive: true });
    expect(planMountsExist(loaded as typeof cached)).toBe(false);
  });
});
