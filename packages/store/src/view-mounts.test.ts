// Mounted store views with real mounts: each test mounts in the mount namespace of a `sleep`
// started by `unshare -m` (cut off from this namespace, shared inside like a systemd host), so
// nothing reaches this machine's namespace and killing the sleeper takes every mount down.
// Needs root (CI runs as root).
import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { closeSync, existsSync, mkdirSync, openSync, readFileSync, statSync, utimesSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { Store } from './store.ts';
import { STORE_VIEW_DIR } from './store-view.ts';
import { cleanup, fakeStorePath, placePath, tempDir } from '../test/helpers.ts';
import {
  bootId,
  claimForEviction,
  mountedViewUsable,
  mountNamespaceOf,
  mountStoreView,
  readViewMounts,
  StoreViewMountError,
  unmountStoreView,
  viewFstab,
  viewMountsRecord,
} from './view-mounts.ts';

let sleeper: ChildProcess;
let pid: number;
let namespace: string;
const dirs: string[] = [];

beforeAll(async () => {
  // Shared inside (as on a systemd host), cut off from this namespace (private first).
  sleeper = spawn('unshare', ['-m', '--propagation', 'private', 'sh', '-c', 'mount --make-rshared / && exec sleep 600'], { stdio: 'ignore' });
  pid = sleeper.pid as number;
  const ours = mountNamespaceOf(process.pid);
  for (let i = 0; i < 200 && (mountNamespaceOf(pid) === undefined || mountNamespaceOf(pid) === ours); i++) await new Promise((r) => setTimeout(r, 10));
  namespace = mountNamespaceOf(pid) as string;
  expect(namespace).not.toBe(ours);
});
afterAll(() => {
  sleeper.kill('SIGKILL');
});
afterEach(() => {
  for (const d of dirs.splice(0)) {
    spawnSync('nsenter', [`--mount=/proc/${pid}/ns/mnt`, '--', 'umount', '-l', d], { stdio: 'ignore' });
    cleanup(d);
  }
});

/** Mount lines of the sleeper's namespace under `dir`. */
function mountsUnder(dir: string): string[] {
  return readFileSync(`/proc/${pid}/mountinfo`, 'utf8')
    .split('\n')
    .filter((line) => line.split(' ')[4]?.startsWith(dir));
}

/** What the sleeper's namespace sees at `path`. */
const inNs = (path: string): string => `/proc/${pid}/root${path}`;

interface Fixture {
  root: string;
  storeDir: string;
  view: string;
  bases: string[];
}

function fixture(count = 3): Fixture {
  const root = tempDir('flox-view-mounts-');
  dirs.push(root);
  const storeDir = join(root, 'store');
  const view = join(root, 'profile', STORE_VIEW_DIR);
  mkdirSync(view, { recursive: true });
  const bases: string[] = [];
  for (let i = 0; i < count; i++) {
    const base = fakeStorePath(`pkg-${i}`).slice('/nix/store/'.length);
    mkdirSync(join(storeDir, base), { recursive: true });
    writeFileSync(join(storeDir, base, 'content'), `content of ${i}`);
    mkdirSync(join(view, base), { mode: 0o555 });
    bases.push(base);
  }
  return { root, storeDir, view, bases };
}

async function mount(f: Fixture, bases = f.bases): Promise<void> {
  const fd = openSync(`/proc/${pid}/ns/mnt`, 'r');
  try {
    await mountStoreView({ view: f.view, hostStoreDir: f.storeDir, bases, namespace: { fd, id: namespace }, callerPath: (p) => p });
  } finally {
    closeSync(fd);
  }
}

describe('mountStoreView', () => {
  it('binds every entry read-only in the target namespace only, private, and records the boot and namespace', async () => {
    const f = fixture();
    await mount(f);
    for (const [i, base] of f.bases.entries()) {
      // In the namespace: the store path itself (same inode); here: the empty mount point.
      expect(statSync(inNs(join(f.view, base))).ino).toBe(statSync(join(f.storeDir, base)).ino);
      expect(readFileSync(inNs(join(f.view, base, 'content')), 'utf8')).toBe(`content of ${i}`);
      expect(existsSync(join(f.view, base, 'content'))).toBe(false);
    }
    const lines = mountsUnder(f.view);
    expect(lines).toHaveLength(f.bases.length + 1);
    // No propagation to or from anywhere: no `shared:`/`master:` tag on any of them.
    for (const line of lines) expect(line).not.toMatch(/shared:|master:/);
    for (const line of lines.filter((l) => l.split(' ')[4] !== f.view)) expect(line.split(' ')[5]).toMatch(/^ro,nosuid,nodev/);
    const write = spawnSync('nsenter', [`--mount=/proc/${pid}/ns/mnt`, '--', 'touch', join(f.view, f.bases[0] as string, 'x')], { encoding: 'utf8' });
    expect(write.status).not.toBe(0);
    expect(write.stderr).toMatch(/Read-only file system/);
    expect(readViewMounts(viewMountsRecord(f.view))).toEqual({ version: 1, bootId: bootId(), namespace, mounts: f.bases.length + 1 });
    // The fstab is not left behind.
    expect(existsSync(`${f.view}.fstab`)).toBe(false);
  });

  it('binds a store path whose root is a regular file onto the view\'s empty file', async () => {
    const f = fixture(1);
    const file = fakeStorePath('a-file').slice('/nix/store/'.length);
    writeFileSync(join(f.storeDir, file), 'file contents');
    writeFileSync(join(f.view, file), '', { mode: 0o444 });
    await mount(f, [...f.bases, file]);
    expect(readFileSync(inNs(join(f.view, file)), 'utf8')).toBe('file contents');
    expect(readFileSync(join(f.view, file), 'utf8')).toBe('');
    expect(mountsUnder(f.view)).toHaveLength(3);
  });

  it('a recursive bind of the view copies the whole tree, read-only entries included', async () => {
    const f = fixture(5);
    await mount(f);
    const target = join(f.root, 'container-store');
    mkdirSync(target);
    const bind = spawnSync('nsenter', [`--mount=/proc/${pid}/ns/mnt`, '--', 'mount', '--rbind', f.view, target], { encoding: 'utf8' });
    expect(bind.stderr).toBe('');
    for (const [i, base] of f.bases.entries()) expect(readFileSync(inNs(join(target, base, 'content')), 'utf8')).toBe(`content of ${i}`);
    // Taking the host view down leaves the copy whole (it is private).
    expect(unmountStoreView(f.view, [pid])).toBe('unmounted');
    expect(mountsUnder(f.view)).toEqual([]);
    for (const [i, base] of f.bases.entries()) expect(readFileSync(inNs(join(target, base, 'content')), 'utf8')).toBe(`content of ${i}`);
    spawnSync('nsenter', [`--mount=/proc/${pid}/ns/mnt`, '--', 'umount', '-l', target]);
  });

  it('leaves nothing mounted and no record when one source is missing', async () => {
    const f = fixture();
    const missing = fakeStorePath('never-realised').slice('/nix/store/'.length);
    mkdirSync(join(f.view, missing));
    const error = await mount(f, [...f.bases, missing]).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(StoreViewMountError);
    expect(error).toMatchObject({ code: 'FLOXK8S_STORE_VIEW_MOUNT', step: 'mount' });
    expect(mountsUnder(f.view)).toEqual([]);
    expect(existsSync(viewMountsRecord(f.view))).toBe(false);
  });

  it('clears what a crash left mounted before it mounts again', async () => {
    const f = fixture();
    await mount(f);
    // A crash after the mounts, before the record: mounts stay, the record is gone.
    spawnSync('rm', [viewMountsRecord(f.view)]);
    await mount(f);
    expect(mountsUnder(f.view)).toHaveLength(f.bases.length + 1);
  });
});

describe('viewFstab', () => {
  const view = '/var/lib/flox-k8s/profiles/p/.flox-k8s/nix-store';
  const base = fakeStorePath('hello').slice('/nix/store/'.length);

  it('writes the private self-bind first, then one read-only bind per base', () => {
    expect(viewFstab(view, '/var/lib/flox-k8s/store', [base]).split('\n')).toEqual([
      `${view} ${view} none bind,private 0 0`,
      `/var/lib/flox-k8s/store/${base} ${view}/${base} none bind,ro,nosuid,nodev 0 0`,
      '',
    ]);
  });

  it.each([
    ['a base with a space', `${base} x`],
    ['a base with a newline', `${base}\n/etc /x none bind 0 0`],
    ['a base with a slash', `${base}/..`],
    ['a base with a tab', `${base}\tx`],
    ['not a base', 'hello'],
  ])('rejects %s (an fstab line could be forged)', (_name, bad) => {
    expect(() => viewFstab(view, '/s', [bad])).toThrow(expect.objectContaining({ code: 'FLOXK8S_STORE_VIEW_MOUNT', step: 'entries' }));
  });

  it.each([
    ['a view with a space', '/v w', '/s'],
    ['a relative store directory', '/v', 's'],
    ['a store directory with ..', '/v', '/s/../etc'],
  ])('rejects %s', (_name, v, s) => {
    expect(() => viewFstab(v, s, [base])).toThrow(expect.objectContaining({ code: 'FLOXK8S_STORE_VIEW_MOUNT', step: 'entries' }));
  });
});

describe('the record', () => {
  function recordIn(text: string): string {
    const dir = tempDir('flox-view-record-');
    dirs.push(dir);
    const file = join(dir, 'r.json');
    writeFileSync(file, text);
    return file;
  }
  const good = (): Record<string, unknown> => ({ version: 1, bootId: bootId(), namespace: 'mnt:[4026531841]', mounts: 3 });

  it.each([
    ['not JSON', '{'],
    ['another version', JSON.stringify({ ...good(), version: 2 })],
    ['a namespace that is not one', JSON.stringify({ ...good(), namespace: '/proc/1/ns/mnt' })],
    ['a bad boot id', JSON.stringify({ ...good(), bootId: 'x' })],
    ['no mounts', JSON.stringify({ ...good(), mounts: 0 })],
    ['over 4 KiB', JSON.stringify({ ...good(), pad: 'x'.repeat(5000) })],
  ])('is no record when it is %s', (_name, text) => {
    expect(readViewMounts(recordIn(text))).toBeUndefined();
  });

  it('makes a view usable only while one entry shows its store path (not after an unmount by hand)', async () => {
    const f = fixture();
    await mount(f);
    const base = f.bases[0] as string;
    const probe = { entry: inNs(join(f.view, base)), source: inNs(join(f.storeDir, base)) };
    expect(mountedViewUsable(f.view, namespace, probe)).toBe(true);
    spawnSync('nsenter', [`--mount=/proc/${pid}/ns/mnt`, '--', 'umount', '-l', f.view]);
    expect(existsSync(viewMountsRecord(f.view))).toBe(true);
    expect(mountedViewUsable(f.view, namespace, probe)).toBe(false);
  });

  it('makes a view usable only for its own namespace and boot', async () => {
    const f = fixture();
    await mount(f);
    expect(mountedViewUsable(f.view, namespace)).toBe(true);
    expect(mountedViewUsable(f.view, mountNamespaceOf(process.pid))).toBe(false);
    expect(mountedViewUsable(f.view, undefined)).toBe(false);
    writeFileSync(viewMountsRecord(f.view), JSON.stringify({ version: 1, bootId: '00000000-0000-0000-0000-000000000000', namespace, mounts: 4 }));
    expect(mountedViewUsable(f.view, namespace)).toBe(false);
    expect(mountedViewUsable(join(f.root, 'no-such-view'), namespace)).toBe(false);
  });

  it('eviction takes an idle record and puts back one just used', async () => {
    const f = fixture();
    await mount(f);
    const record = viewMountsRecord(f.view);
    expect(mountedViewUsable(f.view, namespace)).toBe(true); // a use: mtime now
    expect(claimForEviction(f.view, 60_000)).toBeUndefined();
    expect(existsSync(record)).toBe(true);
    const old = new Date(Date.now() - 120_000);
    utimesSync(record, old, old);
    const claimed = claimForEviction(f.view, 60_000) as string;
    expect(claimed).toBe(`${record}.evicting-${process.pid}`);
    expect(existsSync(record)).toBe(false);
    expect(mountedViewUsable(f.view, namespace)).toBe(false);
    expect(unmountStoreView(f.view, [pid], claimed)).toBe('unmounted');
    expect(mountsUnder(f.view)).toEqual([]);
  });

  it('unmounting a view of another boot or an unreachable namespace only drops the record', async () => {
    const f = fixture();
    await mount(f);
    expect(unmountStoreView(f.view, [process.pid])).toBe('namespace-gone');
    expect(existsSync(viewMountsRecord(f.view))).toBe(false);
    expect(unmountStoreView(f.view, [pid])).toBe('not-mounted');
  });
});

describe('gc and mounted views', () => {
  it('unmounts the view of a profile whose closure goes, before deleting its paths; a rooted one stays mounted', async () => {
    const root = tempDir();
    dirs.push(root);
    const store = await Store.open(root);
    const [kept, doomed] = [fakeStorePath('kept'), fakeStorePath('doomed')];
    await placePath(root, kept);
    await placePath(root, doomed);
    store.pin('running', [kept]);
    const views: Record<string, string> = {};
    for (const [name, path] of [['kept', kept], ['doomed', doomed]] as const) {
      const dir = join(store.profilesDir, name);
      const view = join(dir, STORE_VIEW_DIR);
      const base = path.slice('/nix/store/'.length);
      mkdirSync(join(view, base), { recursive: true });
      writeFileSync(join(dir, '.flox-k8s', 'profile.json'), JSON.stringify({ closure: [path] }));
      const fd = openSync(`/proc/${pid}/ns/mnt`, 'r');
      await mountStoreView({ view, hostStoreDir: store.hostStoreDir, bases: [base], namespace: { fd, id: namespace }, callerPath: (p) => p });
      closeSync(fd);
      views[name] = view;
    }
    const result = await store.gc({ mountNamespacePids: [pid] });
    expect(result.deleted).toEqual([doomed]);
    expect(result.unmountedViews).toEqual([join(store.profilesDir, 'doomed')]);
    expect(result.deletedProfiles).toEqual([join(store.profilesDir, 'doomed')]);
    expect(mountsUnder(views['doomed'] as string)).toEqual([]);
    expect(mountsUnder(views['kept'] as string)).toHaveLength(2);
    expect(readViewMounts(viewMountsRecord(views['kept'] as string))).toBeDefined();
    spawnSync('nsenter', [`--mount=/proc/${pid}/ns/mnt`, '--', 'umount', '-l', views['kept'] as string]);
  });
});
