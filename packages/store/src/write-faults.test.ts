// The fault matrix: ENOSPC and EIO at every write the store makes, through its
// public API. Each outcome is a coded error, nothing is half-written, and the
// store (GC included) keeps working. Faults come from test/fault-injector.ts.
import { existsSync, readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { BinaryCacheClient } from '@flox-k8s/nar';
import { parseLockfile } from '@flox-k8s/lockfile';
import type { NixFixtures, ServedCache } from '@flox-k8s/nix-fixtures';
import { Store } from './store.ts';
import { withFaults, type Fault, type FsOp } from '../test/fault-injector.ts';
import { cleanup, fakeStorePath, placePath, servedFixtures, tempDir } from '../test/helpers.ts';
import { expectNothingHalfWritten } from '../test/store-state.ts';

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

const CODE: Record<string, string> = { ENOSPC: 'FLOXK8S_STORE_DISK_FULL', EIO: 'FLOXK8S_STORE_WRITE_FAILED' };
const ERRNOS = ['ENOSPC', 'EIO'] as const;

async function freshStore(): Promise<{ root: string; store: Store }> {
  const root = tempDir('flox-store-faults-');
  roots.push(root);
  return { root, store: await Store.open(root, { fsync: true }) };
}

type Site = [site: string, op: FsOp, path: (root: string) => RegExp, extra?: Partial<Fault>];

// Every write of a realise (fetchWorkers: 0, so the NAR is unpacked in this thread where the faults apply).
const realiseSites: Site[] = [
  ['unpacked file contents (whole-NAR path)', 'write', (r) => new RegExp(`^${r}/tmp/[^/]+/[^/]+/`)],
  ['unpacked file contents after a short write', 'write', (r) => new RegExp(`^${r}/tmp/[^/]+/[^/]+/`), { shortWrite: 1000 }],
  ['unpacked file creation', 'open', (r) => new RegExp(`^${r}/tmp/[^/]+/[^/]+/`)],
  ['unpacked tree fsync', 'fsync', (r) => new RegExp(`^${r}/tmp/[^/]+/[^/]+`)],
  ['download directory', 'mkdtemp', (r) => new RegExp(`^${r}/tmp/`)],
  ['metadata record contents', 'write', (r) => new RegExp(`^${r}/meta/\\.`)],
  ['metadata record creation', 'open', (r) => new RegExp(`^${r}/meta/\\.`)],
  ['metadata record fsync', 'fsync', (r) => new RegExp(`^${r}/meta/\\.`)],
  ['metadata record rename', 'rename', (r) => new RegExp(`^${r}/meta/[^.]`)],
  ['rename into the store', 'rename', (r) => new RegExp(`^${r}/store/`)],
  ['in-flight root contents', 'write', (r) => new RegExp(`^${r}/roots/inflight/`)],
  ['in-flight root creation', 'open', (r) => new RegExp(`^${r}/roots/inflight/`)],
  ['in-flight root rename', 'rename', (r) => new RegExp(`^${r}/roots/inflight/[^/]+\\.json$`)],
  ['closure index entry', 'write', (r) => new RegExp(`^${r}/closures/`)],
  ['closure index rename', 'rename', (r) => new RegExp(`^${r}/closures/[^.]`)],
  ['lease (realise option) contents', 'write', (r) => new RegExp(`^${r}/roots/leases/`)],
  ['lease (realise option) fsync', 'fsync', (r) => new RegExp(`^${r}/roots/leases/`)],
  ['path lock owner link', 'symlink', (r) => new RegExp(`^${r}/locks/\\.`)],
  ['path lock link', 'link', (r) => new RegExp(`^${r}/locks/[^.]`)],
];

describe('a realise hit by a write fault fails with a code and leaves nothing half-written', () => {
  for (const [site, op, path, extra] of realiseSites) {
    it.each(ERRNOS)(`${site} (${op}): %s`, async (errno) => {
      const { root, store } = await freshStore();
      const { error, injector } = await withFaults([{ op, path: path(root), errno, ...extra }], () =>
        store.realise([fx.storePaths.script], { ...options, fetchWorkers: 0, lease: { id: 'pod', ttlMs: 60_000 } }),
      );
      expect(injector.hits.length).toBeGreaterThan(0); // the fault happened
      expect(error).toMatchObject({ code: CODE[errno], errno });
      await expectNothingHalfWritten(root);
      // and the store works again once the disk does
      const again = await store.realise([fx.storePaths.script], { ...options, fetchWorkers: 0 });
      expect(again.closure).toEqual([fx.storePaths.busybox, fx.storePaths.data, fx.storePaths.script].sort());
    });
  }

  it.each(ERRNOS)('unpacked file contents (streamed path): %s', async (errno) => {
    const { root, store } = await freshStore();
    const client = new BinaryCacheClient({ ...options, wholeNarMaxBytes: 0 });
    try {
      const { error, injector } = await withFaults([{ op: 'write', path: new RegExp(`^${root}/tmp/[^/]+/[^/]+/`), errno }], () =>
        store.realise([fx.storePaths.script], { ...options, client }),
      );
      expect(injector.hits.length).toBeGreaterThan(0);
      expect(error).toMatchObject({ code: CODE[errno], errno });
      await expectNothingHalfWritten(root);
    } finally {
      await client.close();
    }
  });
});

const p = (name: string): string => fakeStorePath(name);
// Enough roots that the lease is ~7 kB, as in the torn lease seen on a full disk.
const manyRoots = (): string[] => [p('app'), ...Array.from({ length: 90 }, (_, i) => p(`also-${i}`))];
const leaseFile = (root: string): string => join(root, 'roots', 'leases', `${Buffer.from('pod').toString('base64url')}.json`);
const pinFile = (root: string): string => join(root, 'roots', 'pins', `${Buffer.from('env').toString('base64url')}.json`);

async function leasedStore(): Promise<{ root: string; store: Store; before: string }> {
  const { root, store } = await freshStore();
  await placePath(root, p('dep'));
  await placePath(root, p('app'), { references: [p('dep')] });
  await placePath(root, p('garbage'));
  store.lease('pod', manyRoots(), 3_600_000);
  store.pin('env', [p('app')]);
  return { root, store, before: readFileSync(leaseFile(root), 'utf8') };
}

const rootSites: Array<[site: string, fault: (root: string, errno: string) => Fault]> = [
  ['creation', (r, errno) => ({ op: 'open', path: new RegExp(`^${r}/roots/(leases|pins)/\\.`), errno })],
  ['contents', (r, errno) => ({ op: 'write', path: new RegExp(`^${r}/roots/(leases|pins)/\\.`), errno })],
  ['contents after a short write (4 KiB of ~7 kB)', (r, errno) => ({ op: 'write', path: new RegExp(`^${r}/roots/(leases|pins)/\\.`), errno, shortWrite: 4096 })],
  ['fsync', (r, errno) => ({ op: 'fsync', path: new RegExp(`^${r}/roots/(leases|pins)/\\.`), errno })],
  ['rename', (r, errno) => ({ op: 'rename', path: new RegExp(`^${r}/roots/(leases|pins)/[^.]`), errno })],
];

describe('leases and pins: a failed write keeps the previous root whole, and GC keeps what it protects', () => {
  for (const [site, fault] of rootSites) {
    it.each(ERRNOS)(`lease renewal, ${site}: %s`, async (errno) => {
      const { root, store, before } = await leasedStore();
      const { error, injector } = await withFaults([fault(root, errno)], () => store.lease('pod', manyRoots().reverse(), 7_200_000));
      expect(injector.hits.length).toBeGreaterThan(0);
      expect(error).toMatchObject({ code: CODE[errno], errno });
      expect(readFileSync(leaseFile(root), 'utf8')).toBe(before);
      await expectNothingHalfWritten(root);
      store.unpin('env'); // only the lease protects app and dep now
      expect((await store.gc()).deleted).toEqual([p('garbage')]);
    });

    it.each(ERRNOS)(`pin, ${site}: %s`, async (errno) => {
      const { root, store } = await leasedStore();
      const pinBefore = readFileSync(pinFile(root), 'utf8');
      const { error, injector } = await withFaults([fault(root, errno)], () => store.pin('env', manyRoots()));
      expect(injector.hits.length).toBeGreaterThan(0);
      expect(error).toMatchObject({ code: CODE[errno], errno });
      expect(readFileSync(pinFile(root), 'utf8')).toBe(pinBefore);
      await expectNothingHalfWritten(root);
    });
  }

  it('release and unpin that cannot unlink fail with a code and keep the root', async () => {
    const { root, store } = await leasedStore();
    const { error, injector } = await withFaults([{ op: 'unlink', path: /roots\/(leases|pins)\//, errno: 'EIO' }], () => store.release('pod'));
    expect(injector.hits).toHaveLength(1);
    expect(error).toMatchObject({ code: 'FLOXK8S_STORE_WRITE_FAILED', errno: 'EIO', file: leaseFile(root) });
    const unpin = await withFaults([{ op: 'unlink', path: /roots\/(leases|pins)\//, errno: 'EIO' }], () => store.unpin('env'));
    expect(unpin.error).toMatchObject({ code: 'FLOXK8S_STORE_WRITE_FAILED', errno: 'EIO' });
    expect(existsSync(leaseFile(root)) && existsSync(pinFile(root))).toBe(true);
  });
});

const profileSites: Site[] = [
  ['profile directory', 'mkdir', (r) => new RegExp(`^${r}/tmp/[^/]+-profile-`)],
  ['profile symlink (buildEnv)', 'symlink', (r) => new RegExp(`^${r}/tmp/[^/]+-profile-`)],
  ['activation asset creation', 'open', (r) => new RegExp(`^${r}/tmp/[^/]+-profile-`)],
  ['activation asset contents', 'write', (r) => new RegExp(`^${r}/tmp/[^/]+-profile-`)],
  ['profile tree fsync', 'fsync', (r) => new RegExp(`^${r}/tmp/[^/]+-profile-`)],
  ['profile build directory', 'mkdtemp', (r) => new RegExp(`^${r}/tmp/`)],
  ['profile rename into place', 'rename', (r) => new RegExp(`^${r}/profiles/`)],
  ['in-flight root of the build', 'write', (r) => new RegExp(`^${r}/roots/inflight/`)],
];

describe('a profile build hit by a write fault fails with a code and leaves no profile', () => {
  for (const [site, op, path] of profileSites) {
    it.each(ERRNOS)(`${site} (${op}): %s`, async (errno) => {
      const { root, store } = await freshStore();
      await store.realise(Object.values(fx.storePaths), { ...options, fetchWorkers: 0 });
      const lock = parseLockfile(fx.lockfile.bytes);
      const { error, injector } = await withFaults([{ op, path: path(root), errno }], () => store.profile(lock, 'x86_64-linux'));
      expect(injector.hits.length).toBeGreaterThan(0);
      expect(error).toMatchObject({ code: CODE[errno], errno });
      expect(readdirSync(join(root, 'profiles'))).toEqual([]);
      await expectNothingHalfWritten(root);
      expect((await store.profile(lock, 'x86_64-linux')).closure).toEqual(fx.closure);
    });
  }
});

describe('GC under write faults', () => {
  async function garbageStore(n: number): Promise<{ root: string; store: Store }> {
    const { root, store } = await freshStore();
    await placePath(root, p('dep'));
    await placePath(root, p('app'), { references: [p('dep')] });
    for (let i = 0; i < n; i++) await placePath(root, p(`garbage-${i}`), { references: i > 0 ? [p(`garbage-${i - 1}`)] : [] });
    store.lease('pod', [p('app')], 3_600_000);
    return { root, store };
  }

  it('with no room for its trash directory (ENOSPC on mkdir) it still collects', async () => {
    const { root, store } = await garbageStore(3);
    const { result, injector } = await withFaults([{ op: 'mkdir', path: new RegExp(`^${root}/tmp/`), errno: 'ENOSPC' }], () => store.gc());
    expect(injector.hits.length).toBeGreaterThan(0);
    expect(result?.deleted).toHaveLength(3);
    expect(readdirSync(join(root, 'store')).sort()).toEqual([p('app'), p('dep')].map((x) => x.slice(11)).sort());
    await expectNothingHalfWritten(root);
  });

  it('EIO creating its trash directory stops it before anything is deleted', async () => {
    const { root, store } = await garbageStore(3);
    const { error } = await withFaults([{ op: 'mkdir', path: new RegExp(`^${root}/tmp/`), errno: 'EIO' }], () => store.gc());
    expect(error).toMatchObject({ code: 'FLOXK8S_STORE_WRITE_FAILED', errno: 'EIO' });
    expect(readdirSync(join(root, 'store'))).toHaveLength(5);
    await expectNothingHalfWritten(root);
  });

  it.each(ERRNOS)('a failing move out of the store (2nd rename) stops it with a consistent store: %s', async (errno) => {
    const { root, store } = await garbageStore(4);
    const { error, injector } = await withFaults([{ op: 'rename', path: new RegExp(`^${root}/store/`), errno, nth: 2 }], () => store.gc());
    expect(injector.hits.length).toBeGreaterThan(0);
    expect(error).toMatchObject({ code: CODE[errno], errno });
    // referrers go first, so what is left still has its references
    expect(readdirSync(join(root, 'store'))).toHaveLength(5);
    await expectNothingHalfWritten(root);
    expect((await store.gc()).deleted).toHaveLength(3);
  });

  it('a record that cannot be removed after its path moved out is a coded error; the next GC removes it', async () => {
    const { root, store } = await garbageStore(1);
    const { error } = await withFaults([{ op: 'unlink', path: new RegExp(`^${root}/meta/`), errno: 'EIO', times: 1 }], () => store.gc());
    expect(error).toMatchObject({ code: 'FLOXK8S_STORE_WRITE_FAILED', errno: 'EIO' });
    expect(readdirSync(join(root, 'meta'))).toHaveLength(3);
    expect(store.pathInfo(p('garbage-0'))).toBeUndefined();
    await store.gc();
    await expectNothingHalfWritten(root);
  });
});
