// Real full disks (a small tmpfs: size= for data blocks, nr_inodes= for file
// creation): every outcome is success or FLOXK8S_STORE_DISK_FULL, nothing is
// half-written, and GC still runs on the full disk and keeps what is leased.
import { spawnSync } from 'node:child_process';
import { readdirSync, readFileSync, statfsSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { NixFixtures, ServedCache } from '@flox-k8s/nix-fixtures';
import { fakeStorePath, heldLocks, placePath, servedFixtures } from '../test/helpers.ts';
import { debris, expectNothingHalfWritten } from '../test/store-state.ts';
import { canMount, leaveFreeBlocks, leaveFreeInodes, removeFillers, withTmpfsStore } from '../test/tmpfs.ts';

const reason = 'needs root to mount a small tmpfs';
const p = (name: string): string => fakeStorePath(name);

describe.skipIf(!canMount && process.env['CI'] !== 'true')(`disk full (${reason})`, () => {
  let fx: NixFixtures;
  let cache: ServedCache;
  let options: { caches: Array<{ url: string }>; trustedKeys: string[] };

  beforeAll(async () => {
    ({ fx, cache, realiseOptions: options } = await servedFixtures('zstd'));
  });
  afterAll(async () => {
    await cache.close();
  });

  it('a realise that runs out of data blocks fails with FLOXK8S_STORE_DISK_FULL and frees its temp files', async () => {
    // 1.5 MiB: room for the small fixture paths, not for busybox (~2 MiB unpacked)
    await withTmpfsStore('size=1536k', async (dir, root, store) => {
      const err = await store.realise([fx.storePaths.script, fx.storePaths.tree], options).catch((e: unknown) => e);
      expect(err).toMatchObject({ code: 'FLOXK8S_STORE_DISK_FULL' });
      expect(store.pathInfo(fx.storePaths.busybox)).toBeUndefined();
      expect(store.pathInfo(fx.storePaths.script)).toBeUndefined();
      expect(readdirSync(join(root, 'tmp'))).toEqual([]);
      expect(heldLocks(root)).toEqual([]);
      await expectNothingHalfWritten(root);
      // and the space is really free again: the temp files are gone, not just unlinked from view
      const df = spawnSync('df', ['--output=used', '-B1', dir], { encoding: 'utf8' }).stdout.split('\n')[1]?.trim();
      expect(Number(df)).toBeLessThan(1024 * 1024);
    });
  });

  it('a lease renewal that only half fits keeps the old lease, and the GC that follows keeps the leased closure', async () => {
    await withTmpfsStore('size=1m', async (dir, root, store) => {
      await placePath(root, p('dep'));
      await placePath(root, p('app'), { references: [p('dep')] });
      await placePath(root, p('garbage'));
      // ~7 kB of roots, as in the torn lease seen on a full disk
      const roots = [p('app'), ...Array.from({ length: 130 }, (_, i) => p(`also-${i}`))];
      store.lease('pod', roots, 3_600_000);
      const file = join(root, 'roots', 'leases', `${Buffer.from('pod').toString('base64url')}.json`);
      const before = readFileSync(file, 'utf8');
      expect(before.length).toBeGreaterThan(6_000);
      await store.gc({ dryRun: true }); // creates this process's lock owner link while there is room
      leaveFreeBlocks(dir, 1); // one 4 KiB page: the renewal's write is short, then ENOSPC
      expect(() => store.lease('pod', roots, 7_200_000)).toThrow(expect.objectContaining({ code: 'FLOXK8S_STORE_DISK_FULL', errno: 'ENOSPC' }));
      expect(readFileSync(file, 'utf8')).toBe(before);
      expect(debris(root)).toEqual([]);
      // the GC that runs because the disk is full, on the full disk
      leaveFreeBlocks(dir, 0);
      const result = await store.gc();
      expect(result.deleted).toEqual([p('garbage')]);
      expect(store.pathInfo(p('app'))).toBeDefined();
      expect(store.pathInfo(p('dep'))).toBeDefined();
      removeFillers(dir);
      await expectNothingHalfWritten(root);
    });
  });

  // One sweep per resource: the realise (with a lease) meets the full disk at
  // every point it allocates: in-flight root, lock owner, download directory,
  // each unpacked file, metadata record, closure index entry, lease.
  const sweeps = [
    ['data blocks', 'size=8m', (dir: string) => statfsSync(dir).bfree, leaveFreeBlocks],
    ['inodes', 'size=16m,nr_inodes=300', (dir: string) => statfsSync(dir).ffree, leaveFreeInodes],
  ] as const;

  for (const [resource, mountOptions, free, leave] of sweeps) {
    it(`a realise meeting a full disk (${resource}) at every allocation fails with a code; nothing half-written; GC runs on the full disk`, async () => {
      await withTmpfsStore(mountOptions, async (dir, root, store) => {
        await placePath(root, p('dep'));
        await placePath(root, p('app'), { references: [p('dep')] });
        store.lease('pod', [p('app')], 3_600_000);
        await store.gc(); // lock owner links exist from here on
        const request = (): Promise<unknown> => store.realise([fx.storePaths.script], { ...options, fetchWorkers: 0, lease: { id: 'pod-2', ttlMs: 3_600_000 } });
        const reset = async (): Promise<void> => {
          removeFillers(dir);
          store.release('pod-2');
          await store.gc();
          await placePath(root, p('garbage'));
        };
        // what a successful realise needs
        await reset();
        const before = free(dir);
        await request();
        const needed = before - free(dir);
        expect(needed).toBeGreaterThan(2);
        const points = resource === 'inodes' ? Array.from({ length: needed + 2 }, (_, i) => i) : [...new Set([0, 1, 2, 3, 4, 6, 8, 16, 64, 128, 256, needed - 3, needed - 2, needed - 1, needed, needed + 1])].filter((n) => n >= 0);
        const outcomes: string[] = [];
        for (const left of points) {
          await reset();
          leave(dir, left);
          const outcome = await request().then(
            () => 'ok',
            (e: unknown) => (e as { code?: string; errno?: string }).code + '/' + (e as { errno?: string }).errno,
          );
          outcomes.push(outcome);
          expect([`ok`, 'FLOXK8S_STORE_DISK_FULL/ENOSPC'], `with ${left} ${resource} left`).toContain(outcome);
          expect(debris(root), `with ${left} ${resource} left`).toEqual([]);
          expect(heldLocks(root)).toEqual([]);
          // GC on the still full disk: it keeps both leases' closures and takes the garbage (and
          // what a failed realise registered without a lease). On tmpfs a hard link counts against
          // nr_inodes, so with no inode left it cannot take its lock: a coded error, nothing deleted.
          const inStore = readdirSync(join(root, 'store')).length;
          const gc = await store.gc().catch((e: unknown) => e as { code?: string });
          if (!('deleted' in gc)) {
            expect(resource === 'inodes' && left === 0 ? gc.code : 'unexpected').toBe('FLOXK8S_STORE_DISK_FULL');
            expect(readdirSync(join(root, 'store')).length).toBe(inStore);
          } else {
            expect(gc.deleted, `with ${left} ${resource} left`).toContain(p('garbage'));
            for (const d of gc.deleted) expect([p('garbage'), fx.storePaths.busybox, fx.storePaths.data, fx.storePaths.script]).toContain(d);
            if (outcome === 'ok') expect(gc.deleted).toEqual([p('garbage')]);
          }
          expect(store.pathInfo(p('app')) !== undefined && store.pathInfo(p('dep')) !== undefined).toBe(true);
          if (outcome === 'ok') expect(store.pathInfo(fx.storePaths.script)).toBeDefined();
          removeFillers(dir);
          await expectNothingHalfWritten(root);
        }
        // the sweep saw both ends: failures on the full disk, success with enough room
        expect(outcomes[0]).toBe('FLOXK8S_STORE_DISK_FULL/ENOSPC');
        expect(outcomes.at(-1)).toBe('ok');
      });
    }, 120_000);
  }
});
