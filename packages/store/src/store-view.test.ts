// The store view a profile holds (the container's /nix/store): a mount point per directory
// or file store path and, for a store path whose root is a symlink (legal in Nix, here from a
// validly signed cache), that symlink itself, so no bind mount ever follows it on the host.
import { lstatSync, readdirSync, readFileSync, readlinkSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { formatSha256, nix32Encode, serializeNarinfo, signNarinfo } from '@flox-k8s/nar';
import { narOf, storePathFor, storePathLockfile, writeSignedCache } from '@flox-k8s/hostile-nars';
import { serveCache, type NixFixtures, type ServedCache } from '@flox-k8s/nix-fixtures';
import { parseLockfile } from '@flox-k8s/lockfile';
import { Store } from './store.ts';
import { STORE_VIEW_DIR } from './store-view.ts';
import { cleanup, servedFixtures, tempDir } from '../test/helpers.ts';

const NAR_EXPORTS = { formatSha256, nix32Encode, serializeNarinfo, signNarinfo };

let fx: NixFixtures;
let fixtureCache: ServedCache;
let oddCache: ServedCache;
let tmp: string;
const HOST_LINK = storePathFor('view-link-to-host-etc');
const STORE_LINK = storePathFor('view-link-to-busybox');
const FILE = storePathFor('view-a-file');
const STORE_DIR_LINK = storePathFor('view-link-to-store-dir');

beforeAll(async () => {
  ({ fx, cache: fixtureCache } = await servedFixtures('zstd'));
  tmp = tempDir('flox-store-view-');
  const written = writeSignedCache(
    join(tmp, 'cache'),
    [
      { name: 'view-link-to-host-etc', nar: narOf({ type: 'symlink', target: '/etc' }), compression: 'xz' },
      { name: 'view-link-to-busybox', nar: narOf({ type: 'symlink', target: fx.storePaths.busybox }), compression: 'xz', references: [fx.storePaths.busybox] },
      { name: 'view-a-file', nar: narOf({ type: 'regular', contents: 'a file store path\n' }), compression: 'none' },
      { name: 'view-link-to-store-dir', nar: narOf({ type: 'symlink', target: '/nix/store' }), compression: 'none' },
    ],
    readFileSync(fx.secretKeyFile, 'utf8'),
    NAR_EXPORTS,
  );
  expect(written).toEqual([HOST_LINK, STORE_LINK, FILE, STORE_DIR_LINK]);
  oddCache = await serveCache(join(tmp, 'cache'));
});
afterAll(async () => {
  await fixtureCache?.close();
  await oddCache?.close();
  cleanup(tmp);
});

describe('store view', () => {
  it('holds an empty directory or file per mounted path and the symlink paths as the same symlinks', async () => {
    const root = join(tmp, 'root');
    const store = await Store.open(root);
    // busybox comes in as the link's reference (installing both would be a buildEnv conflict on bin/).
    const lock = parseLockfile(storePathLockfile({ etc: HOST_LINK, link: STORE_LINK, file: FILE, store: STORE_DIR_LINK }));
    // Other paths in this node's store (another pod's closure), which this profile must not name.
    await store.realise(fx.closure, { caches: [{ url: fixtureCache.url }], trustedKeys: [fx.publicKey] });
    await store.realise([fx.storePaths.busybox, HOST_LINK, STORE_LINK, FILE, STORE_DIR_LINK], {
      caches: [{ url: fixtureCache.url }, { url: oddCache.url }],
      trustedKeys: [fx.publicKey],
    });
    const profile = await store.profile(lock, 'x86_64-linux');
    expect(profile.closure).toEqual([fx.storePaths.busybox, HOST_LINK, STORE_LINK, FILE, STORE_DIR_LINK].sort());
    expect(profile.storeView).toEqual({ hostPath: join(profile.hostPath, STORE_VIEW_DIR), symlinks: [HOST_LINK, STORE_LINK, STORE_DIR_LINK].sort() });

    const view = profile.storeView.hostPath;
    expect(readdirSync(view).sort()).toEqual(profile.closure.map((p) => p.slice('/nix/store/'.length)));
    const entry = (p: string): string => join(view, p.slice('/nix/store/'.length));
    expect(lstatSync(entry(fx.storePaths.busybox)).isDirectory()).toBe(true);
    expect(readdirSync(entry(fx.storePaths.busybox))).toEqual([]);
    expect(lstatSync(entry(FILE)).isFile()).toBe(true);
    expect(lstatSync(entry(FILE)).size).toBe(0);
    expect(readlinkSync(entry(HOST_LINK))).toBe('/etc');
    expect(readlinkSync(entry(STORE_LINK))).toBe(fx.storePaths.busybox);

    expect(readlinkSync(entry(STORE_DIR_LINK))).toBe('/nix/store');
    // buildEnv read the closure only: nothing of the host's /etc, nor the names of the node store's
    // other paths (a link to the store directory), is linked into the profile.
    expect(readdirSync(profile.hostPath).sort()).toEqual(['.flox-k8s', 'bin']);

    // Found again (manifest) with the same view.
    const again = await (await Store.open(root)).profile(lock, 'x86_64-linux');
    expect(again.storeView).toEqual(profile.storeView);
  });

  it('refuses a profile mounted in the store directory (the view owns it)', async () => {
    const store = await Store.open(join(tmp, 'root'));
    const lock = parseLockfile(storePathLockfile({ busybox: fx.storePaths.busybox }));
    for (const containerPath of ['/nix/store/x', '/nix', '/']) {
      await expect(store.profile(lock, 'x86_64-linux', { containerPath })).rejects.toMatchObject({ code: 'FLOXK8S_STORE_OPTIONS_INVALID' });
    }
  });
});
