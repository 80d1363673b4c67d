// The store's fsync default follows the file system it lives on: off on tmpfs/ramfs (nothing
// there survives a reboot), on elsewhere. Observed through an injected fsync fault on the
// unpacked tree: hit (and failing the realise) on disk, never reached on tmpfs.
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { NixFixtures, ServedCache } from '@flox-k8s/nix-fixtures';
import { inMemoryFileSystem } from './fs-util.ts';
import { Store } from './store.ts';
import { withFaults } from '../test/fault-injector.ts';
import { cleanup, servedFixtures } from '../test/helpers.ts';

let fx: NixFixtures;
let cache: ServedCache;
let options: { caches: Array<{ url: string }>; trustedKeys: string[] };
const roots: string[] = [];

beforeAll(async () => {
  ({ fx, cache, realiseOptions: options } = await servedFixtures('zstd'));
});
afterAll(async () => {
  await cache.close();
  for (const r of roots) cleanup(r);
});

async function realiseWithTreeFsyncFault(parent: string): Promise<{ hits: number; error: unknown }> {
  const root = mkdtempSync(join(parent, 'flox-fsync-default-'));
  roots.push(root);
  const store = await Store.open(root);
  const { error, injector } = await withFaults([{ op: 'fsync', path: new RegExp(`^${root}/tmp/[^/]+/[^/]+`), errno: 'EIO' }], () =>
    store.realise([fx.storePaths.script], { ...options, fetchWorkers: 0 }),
  );
  return { hits: injector.hits.length, error };
}

describe('Store.open fsync default', () => {
  it('tells tmpfs (/dev/shm) from the disk-backed /var/tmp', () => {
    expect(inMemoryFileSystem('/dev/shm')).toBe(true);
    // /var/tmp is on the root file system, here and on CI's base image (ext4).
    expect(inMemoryFileSystem('/var/tmp')).toBe(false);
  });

  it('fsyncs unpacked trees on a disk-backed store', async () => {
    const { hits, error } = await realiseWithTreeFsyncFault('/var/tmp');
    expect(hits).toBeGreaterThan(0);
    expect(error).toMatchObject({ code: 'FLOXK8S_STORE_WRITE_FAILED', errno: 'EIO' });
  });

  it('does not fsync them on a tmpfs store, and realises', async () => {
    const { hits, error } = await realiseWithTreeFsyncFault('/dev/shm');
    expect(hits).toBe(0);
    expect(error).toBeUndefined();
  });

  it('fails with ENOENT for a directory that does not exist', () => {
    const gone = mkdtempSync(join(tmpdir(), 'flox-fs-'));
    rmSync(gone, { recursive: true });
    expect(() => inMemoryFileSystem(gone)).toThrow(expect.objectContaining({ code: 'ENOENT' }));
  });
});
