import { spawnSync } from 'node:child_process';
import { mkdirSync, readdirSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { NixFixtures, ServedCache } from '@flox-k8s/nix-fixtures';
import { Store } from './store.ts';
import { cleanup, servedFixtures, tempDir, heldLocks } from '../test/helpers.ts';

// Mounting a tmpfs needs root. CI runs as root, so there the suite never skips.
const isRoot = process.getuid?.() === 0;
const reason = 'needs root to mount a small tmpfs';

describe.skipIf(!isRoot && process.env['CI'] !== 'true')(`disk full (${reason})`, () => {
  let fx: NixFixtures;
  let cache: ServedCache;
  let mountPoint: string;

  beforeAll(async () => {
    ({ fx, cache } = await servedFixtures('zstd'));
    mountPoint = tempDir('flox-store-tmpfs-');
    // 1.5 MiB: room for the small fixture paths, not for busybox (~2 MiB unpacked)
    const r = spawnSync('mount', ['-t', 'tmpfs', '-o', 'size=1536k', 'tmpfs', mountPoint], { encoding: 'utf8' });
    if (r.status !== 0) throw new Error(`mount tmpfs failed: ${r.stderr}`);
  });
  afterAll(async () => {
    await cache.close();
    spawnSync('umount', [mountPoint]);
    cleanup(mountPoint);
  });

  it('fails with FLOXK8S_STORE_DISK_FULL, leaves no partial path visible, and frees its temp files', async () => {
    const root = join(mountPoint, 'root');
    mkdirSync(root);
    const store = await Store.open(root);
    const err = await store.realise([fx.storePaths.script, fx.storePaths.tree], { caches: [{ url: cache.url }], trustedKeys: [fx.publicKey] }).catch((e: unknown) => e);
    expect(err).toMatchObject({ code: 'FLOXK8S_STORE_DISK_FULL' });
    expect(store.pathInfo(fx.storePaths.busybox)).toBeUndefined();
    expect(store.pathInfo(fx.storePaths.script)).toBeUndefined();
    expect(readdirSync(join(root, 'store'))).not.toContain(fx.storePaths.busybox.slice(11));
    expect(readdirSync(join(root, 'tmp'))).toEqual([]);
    expect(heldLocks(root)).toEqual([]);
    expect(readdirSync(join(root, 'roots', 'inflight'))).toEqual([]);
    // whatever did become visible is complete and verified
    const reopened = await Store.open(root);
    expect(await reopened.verify()).toMatchObject({ ok: true, corrupt: [], incomplete: [], unregistered: [] });
    // and the space is really free again: the temp files are gone, not just unlinked from view
    const df = spawnSync('df', ['--output=used', '-B1', mountPoint], { encoding: 'utf8' }).stdout.split('\n')[1]?.trim();
    expect(Number(df)).toBeLessThan(1024 * 1024);
  });
});
