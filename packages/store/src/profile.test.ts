import { existsSync, readdirSync, readFileSync, statSync, symlinkSync, unlinkSync } from 'node:fs';
import { join } from 'node:path';
import { spawnSync } from 'node:child_process';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { FIXTURE_ACTIVATION, type NixFixtures, type ServedCache } from '@flox-k8s/nix-fixtures';
import { parseLockfile } from '@flox-k8s/lockfile';
import { Store } from './store.ts';
import { PROFILE_FORMAT } from './profile-format.ts';
import { cleanup, nixEnvProfile, profileTree, servedFixtures, tempDir } from '../test/helpers.ts';

let fx: NixFixtures;
let cache: ServedCache;
let realiseOptions: { caches: Array<{ url: string }>; trustedKeys: string[] };
let root: string;
let store: Store;

beforeAll(async () => {
  ({ fx, cache, realiseOptions } = await servedFixtures('zstd'));
  root = tempDir();
  store = await Store.open(root);
  await store.realise(Object.values(fx.storePaths), realiseOptions);
});
afterAll(async () => {
  await cache.close();
  cleanup(root);
});

describe('profile', () => {
  it("matches the profile Nix's own buildenv makes for the same packages", async () => {
    const lock = parseLockfile(fx.lockfile.bytes);
    const profile = await store.profile(lock, 'x86_64-linux');
    const work = tempDir('flox-nix-profile-');
    try {
      const link = join(work, 'profile');
      const nix = nixEnvProfile(
        link,
        Object.values(fx.storePaths).map((path) => ({ path, name: path.slice(44) })),
      );
      expect(nix.dir).toBeDefined();
      const ours = profileTree(profile.hostPath, (rel) => rel === '.flox-k8s');
      expect(ours).toEqual(profileTree(nix.dir as string, (rel) => rel === 'manifest.nix'));
      expect(ours).toContain(`bin/sh -> ${fx.storePaths.busybox}/bin/sh`);
      for (const name of readdirSync(work)) unlinkSync(join(work, name));
    } finally {
      cleanup(work);
    }
  });

  it('is content-addressed by lockfile digest and holds the activation assets', async () => {
    const lock = parseLockfile(fx.lockfile.bytes);
    const profile = await store.profile(lock, 'x86_64-linux');
    expect(profile.digest).toBe(lock.digest);
    expect(profile.hostPath).toBe(join(root, 'profiles', `${lock.digest}-x86_64-linux-run-f${PROFILE_FORMAT}`));
    expect(profile.containerPath).toBe('/run/flox-k8s/env');
    expect(profile.closure).toEqual(fx.closure);
    const assets = join(profile.hostPath, '.flox-k8s');
    expect(profile.activation.envrc).toBe('/run/flox-k8s/env/.flox-k8s/envrc');
    const envrc = readFileSync(join(assets, 'envrc'), 'utf8');
    expect(envrc).toContain(`export PATH='/run/flox-k8s/env/bin:/run/flox-k8s/env/sbin'"\${PATH:+:$PATH}"`);
    expect(envrc).toContain("export FLOX_ENV='/run/flox-k8s/env'");
    expect(envrc).toContain(`[ -n "\${FLOX_FIXTURE_VAR+x}" ] || export FLOX_FIXTURE_VAR='${FIXTURE_ACTIVATION.vars.FLOX_FIXTURE_VAR}'`);
    expect(profile.activation.hook).toBe('/run/flox-k8s/env/.flox-k8s/hook-on-activate');
    expect(readFileSync(join(assets, 'hook-on-activate'), 'utf8')).toContain('export FLOX_FIXTURE_HOOK="from-hook"');
    expect(profile.activation.plan.needsWrapper).toBe(true);
    expect(profile.activation.wrapper).toBe('/run/flox-k8s/env/.flox-k8s/wrapper');
    expect(statSync(join(assets, 'wrapper')).mode & 0o111).not.toBe(0);
    // the same lockfile again: the same directory, not rebuilt
    const ino = statSync(profile.hostPath).ino;
    const again = await (await Store.open(root)).profile(parseLockfile(fx.lockfile.bytes), 'x86_64-linux');
    expect(again.hostPath).toBe(profile.hostPath);
    expect(statSync(again.hostPath).ino).toBe(ino);
    expect(again.activation).toEqual(profile.activation);
  });

  it('the wrapper runs the hook then the command (executed with the fixture busybox sh)', async () => {
    const mount = join(root, 'mnt-env');
    const profile = await store.profile(parseLockfile(fx.lockfile.bytes), 'x86_64-linux', { containerPath: mount });
    symlinkSync(profile.hostPath, mount);
    // Run on the host through the host /nix/store copies, with the profile at its "container" path.
    const r = spawnSync(`${fx.storePaths.busybox}/bin/sh`, [join(profile.hostPath, '.flox-k8s', 'wrapper'), 'sh', '-c', 'echo "$FLOX_FIXTURE_HOOK"'], {
      encoding: 'utf8',
      env: { PATH: `${fx.storePaths.busybox}/bin` },
    });
    expect(r.stderr).toBe('');
    expect(r.stdout).toBe('from-hook\n');
  });

  it('refuses when the closure is not realised, and when the lockfile has no digest', async () => {
    const empty = tempDir();
    try {
      const s = await Store.open(empty);
      await expect(s.profile(parseLockfile(fx.lockfile.bytes), 'x86_64-linux')).rejects.toMatchObject({ code: 'FLOXK8S_STORE_PATH_MISSING' });
      expect(readdirSync(join(empty, 'profiles'))).toEqual([]);
      expect(readdirSync(join(empty, 'tmp'))).toEqual([]);
      const noDigest = { ...parseLockfile(fx.lockfile.bytes), digest: undefined };
      await expect(s.profile(noDigest, 'x86_64-linux')).rejects.toMatchObject({ code: 'FLOXK8S_STORE_OPTIONS_INVALID' });
      await expect(s.profile(parseLockfile(fx.lockfile.bytes), 'aarch64-darwin')).rejects.toMatchObject({
        code: 'FLOXK8S_SYSTEM_NOT_IN_LOCKFILE',
      });
    } finally {
      cleanup(empty);
    }
  });

  it('concurrent builds of the same profile by two stores on one root agree', async () => {
    const lock = parseLockfile(fx.lockfile.bytes);
    const [a, b] = await Promise.all([
      (await Store.open(root)).profile(lock, 'x86_64-linux', { mode: 'dev' }),
      (await Store.open(root)).profile(lock, 'x86_64-linux', { mode: 'dev' }),
    ]);
    expect(a.hostPath).toBe(b.hostPath);
    expect(existsSync(join(a.hostPath, '.flox-k8s', 'profile.json'))).toBe(true);
    expect(readdirSync(join(root, 'tmp'))).toEqual([]);
  });

  it('a GC that takes a path of its closure removes the profile too (last: empties the store)', async () => {
    const lock = parseLockfile(fx.lockfile.bytes);
    const profile = await store.profile(lock, 'x86_64-linux');
    const result = await store.gc();
    expect(result.deleted.sort()).toEqual(fx.closure);
    expect(result.deletedProfiles).toContain(profile.hostPath);
    expect(existsSync(profile.hostPath)).toBe(false);
    expect(readdirSync(join(root, 'closures'))).toEqual([]);
    await expect(store.profile(lock, 'x86_64-linux')).rejects.toMatchObject({ code: 'FLOXK8S_STORE_PATH_MISSING' });
  });
});
