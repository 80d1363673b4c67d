import { mkdirSync, readdirSync, readFileSync, rmSync, symlinkSync, truncateSync, unlinkSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { GcRootUnreadableError } from './errors.ts';
import { ownerTag } from './process-owner.ts';
import { Store } from './store.ts';
import { withFaults, type Fault } from '../test/fault-injector.ts';
import { cleanup, fakeStorePath, placePath, tempDir } from '../test/helpers.ts';

const dirs: string[] = [];
afterEach(() => {
  for (const d of dirs.splice(0)) cleanup(d);
});

const p = (name: string): string => fakeStorePath(name);
const deadPid = Number(readFileSync('/proc/sys/kernel/pid_max', 'utf8')) + 1;
const b64 = (id: string): string => Buffer.from(id).toString('base64url');

/** A store with app -> dep (to protect) and garbage (unreachable): a GC that runs deletes garbage at least. */
async function storeWithRoot(kind: 'lease' | 'pin' | 'inflight'): Promise<{ store: Store; root: string; file: string }> {
  const root = tempDir();
  dirs.push(root);
  const store = await Store.open(root);
  await placePath(root, p('dep'));
  await placePath(root, p('app'), { references: [p('dep')] });
  await placePath(root, p('garbage'));
  let file: string;
  if (kind === 'lease') {
    store.lease('pod-1', [p('app')], 3_600_000);
    file = join(root, 'roots', 'leases', `${b64('pod-1')}.json`);
  } else if (kind === 'pin') {
    store.pin('env-1', [p('app')]);
    file = join(root, 'roots', 'pins', `${b64('env-1')}.json`);
  } else {
    // an in-flight root of a live process: this one
    file = join(root, 'roots', 'inflight', `${ownerTag()}-424242.json`);
    writeFileSync(file, JSON.stringify({ paths: [p('app')] }));
  }
  return { store, root, file };
}

const listing = (root: string): string[] => [...readdirSync(join(root, 'store')), ...readdirSync(join(root, 'meta'))].sort();

type Damage = [name: string, reason: string, damage: (file: string) => void, faults?: (file: string) => Fault[]];

const damages: Damage[] = [
  ['torn (half its bytes)', 'torn', (f) => truncateSync(f, Math.floor(readFileSync(f).length / 2))],
  ['empty', 'empty', (f) => truncateSync(f, 0)],
  ['unreadable (EIO)', 'unreadable', () => undefined, (f) => [{ op: 'read', path: new RegExp(`^${f}$`), errno: 'EIO' }]],
  ['unopenable (EIO on open)', 'unreadable', () => undefined, (f) => [{ op: 'open', path: new RegExp(`^${f}$`), errno: 'EIO' }]],
  ['a directory', 'not-a-file', (f) => (unlinkSync(f), mkdirSync(f))],
  ['a symlink', 'not-a-file', (f) => { const real = join(f, '..', '..', '..', 'real-root.json'); writeFileSync(real, readFileSync(f)); unlinkSync(f); symlinkSync(real, f); }],
  ['valid JSON of another shape', 'schema', (f) => writeFileSync(f, JSON.stringify({ id: 'pod-1', name: 'env-1', roots: 'app', paths: 'app' }))],
  ['naming a root outside the store', 'schema', (f) => writeFileSync(f, JSON.stringify({ id: 'pod-1', name: 'env-1', roots: ['/etc'], paths: ['/etc'], expiresAt: Date.now() + 60_000 }))],
];

describe('GC fails closed on roots it cannot read or validate', () => {
  for (const kind of ['lease', 'pin', 'inflight'] as const) {
    it.each(damages)(`a ${kind} root that is %s stops GC (%s) and nothing is deleted`, async (_name, reason, damage, faults) => {
      const { store, root, file } = await storeWithRoot(kind);
      damage(file);
      const before = listing(root);
      const { error, injector } = await withFaults(faults?.(file) ?? [], () => store.gc());
      if (faults) expect(injector.hits.length).toBeGreaterThan(0);
      expect(error).toBeInstanceOf(GcRootUnreadableError);
      expect(error).toMatchObject({ code: 'FLOXK8S_STORE_GC_ROOT_UNREADABLE', reason, file });
      // nothing deleted: not the protected closure, not even the garbage
      expect(listing(root)).toEqual(before);
      expect(readdirSync(join(root, 'tmp'))).toEqual([]);
      expect(readdirSync(root)).not.toContain('gc.lock');
    });
  }

  it('a lease whose id does not match its file name, a stray file, and an unlistable roots directory stop GC', async () => {
    const { store, root, file } = await storeWithRoot('lease');
    writeFileSync(file, JSON.stringify({ id: 'someone-else', roots: [p('app')], expiresAt: Date.now() + 60_000 }));
    await expect(store.gc()).rejects.toMatchObject({ code: 'FLOXK8S_STORE_GC_ROOT_UNREADABLE', reason: 'schema', file });
    store.lease('pod-1', [p('app')], 60_000);
    const stray = join(root, 'roots', 'pins', 'backup.json~');
    writeFileSync(stray, '{}');
    await expect(store.gc()).rejects.toMatchObject({ reason: 'unexpected-entry', file: stray });
    unlinkSync(stray);
    const leases = join(root, 'roots', 'leases');
    const { error, injector } = await withFaults([{ op: 'readdir', path: new RegExp(`^${leases}$`), errno: 'EIO' }], () => store.gc());
    expect(injector.hits).toHaveLength(1);
    expect(error).toMatchObject({ code: 'FLOXK8S_STORE_GC_ROOT_UNREADABLE', reason: 'unreadable', file: leases });
    expect(readdirSync(join(root, 'store'))).toHaveLength(3);
  });
});

describe('GC passes over what is provably not a root', () => {
  it('a root removed between readdir and open (released) is no root', async () => {
    const { store, root, file } = await storeWithRoot('lease');
    const { result, injector } = await withFaults([{ op: 'open', path: new RegExp(`^${file}$`), errno: 'ENOENT', before: () => unlinkSync(file) }], () =>
      store.gc(),
    );
    expect(injector.seen[0]).toBeGreaterThan(0);
    expect(result?.deleted.sort()).toEqual([p('app'), p('dep'), p('garbage')].sort());
    expect(readdirSync(join(root, 'store'))).toEqual([]);
  });

  it("a live writer's temp file is skipped, a dead writer's temp file and a dead process's in-flight root are removed", async () => {
    const { store, root } = await storeWithRoot('lease');
    const leases = join(root, 'roots', 'leases');
    const liveTemp = join(leases, `.${b64('pod-2')}.json.${ownerTag()}.tmp`);
    const deadTemp = join(leases, `.${b64('pod-3')}.json.${deadPid}-1.tmp`);
    const deadRoot = join(root, 'roots', 'inflight', `${deadPid}-1-7.json`);
    writeFileSync(liveTemp, '{"id":"pod-2","ro'); // being written right now: torn is normal
    writeFileSync(deadTemp, '{"id"');
    writeFileSync(deadRoot, 'torn, and its process is dead');
    const result = await store.gc();
    expect(result.deleted).toEqual([p('garbage')]);
    expect(readdirSync(leases).sort()).toEqual([`${b64('pod-1')}.json`, `.${b64('pod-2')}.json.${ownerTag()}.tmp`].sort());
    expect(readdirSync(join(root, 'roots', 'inflight'))).toEqual([]);
    rmSync(liveTemp);
  });

  it('an expired lease renewed while GC removes it survives (the renewal is never deleted)', async () => {
    const { store, root, file } = await storeWithRoot('lease');
    store.lease('pod-1', [p('app')], 1);
    await new Promise((r) => setTimeout(r, 5));
    // GC moves the expired lease aside; just before, the agent renews it.
    const { result, injector } = await withFaults(
      [{ op: 'rename', path: new RegExp(`^${file}$`), errno: 'unused', nth: 1, times: 1, before: () => void store.lease('pod-1', [p('app')], 3_600_000) }],
      () => store.gc(),
    );
    expect(injector.seen[0]).toBeGreaterThan(0);
    expect(result).toBeDefined();
    const lease = JSON.parse(readFileSync(file, 'utf8')) as { expiresAt: number };
    expect(lease.expiresAt).toBeGreaterThan(Date.now() + 3_000_000);
    expect(readdirSync(join(root, 'roots', 'leases'))).toEqual([`${b64('pod-1')}.json`]);
  });
});
