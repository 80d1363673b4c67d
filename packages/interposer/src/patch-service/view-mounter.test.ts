// The patch service's ViewMounter with real mounts, in the mount namespace of a `sleep` started by
// `unshare -m` (nothing reaches this machine's namespace; killing it takes the mounts down).
// Needs root (CI runs as root).
import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, utimesSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import type { PatchPlan } from '@flox-k8s/oci-patch';
import { STORE_VIEW_DIR } from '@flox-k8s/store';
import { mountNamespaceOf, viewMountsRecord } from '@flox-k8s/store/view-mounts';
import type { Logger } from '../log.ts';
import { ViewMounter } from './view-mounter.ts';

let sleeper: ChildProcess;
let pid: number;
let namespace: string;
let root: string;

beforeAll(async () => {
  sleeper = spawn('unshare', ['-m', '--propagation', 'private', 'sh', '-c', 'mount --make-rshared / && exec sleep 600'], { stdio: 'ignore' });
  pid = sleeper.pid as number;
  for (let i = 0; i < 200 && (mountNamespaceOf(pid) === undefined || mountNamespaceOf(pid) === mountNamespaceOf(process.pid)); i++) await new Promise((r) => setTimeout(r, 10));
  namespace = mountNamespaceOf(pid) as string;
});
afterAll(() => sleeper.kill('SIGKILL'));
afterEach(() => {
  spawnSync('nsenter', [`--mount=/proc/${pid}/ns/mnt`, '--', 'sh', '-c', `grep -o ' ${root}/[^ ]*nix-store ' /proc/self/mountinfo | sort -u | xargs -r -n1 umount -l`], { stdio: 'ignore' });
  rmSync(root, { recursive: true, force: true });
});

function mountsUnder(dir: string): number {
  return readFileSync(`/proc/${pid}/mountinfo`, 'utf8')
    .split('\n')
    .filter((line) => line.split(' ')[4]?.startsWith(dir)).length;
}

const hash = (i: number, n: number): string => `${String(i).padStart(2, '0')}${String(n).padStart(2, '0')}`.padEnd(32, 'a');

/** A profile `name` with a view of `count` directory paths (and one symlink path), and its plan. */
function profile(name: string, count: number, extra: Partial<PatchPlan> = {}): PatchPlan {
  const hostStoreDir = join(root, 'store');
  const view = join(root, 'profiles', name, STORE_VIEW_DIR);
  mkdirSync(view, { recursive: true });
  const storePaths: string[] = [];
  for (let i = 0; i < count; i++) {
    const base = `${hash(name.length, i)}-${name}-${i}`;
    mkdirSync(join(hostStoreDir, base), { recursive: true });
    writeFileSync(join(hostStoreDir, base, 'file'), base);
    mkdirSync(join(view, base));
    storePaths.push(`/nix/store/${base}`);
  }
  const link = `/nix/store/${hash(name.length, 99)}-${name}-link`;
  storePaths.push(link);
  return {
    hostStoreDir,
    storePaths,
    storeView: { hostPath: view, symlinks: [link] },
    profile: { hostPath: join(root, 'profiles', name), containerPath: '/run/flox-k8s/env' },
    env: [],
    applied: { environment: 'acme/x', digest: 'ab'.repeat(32) },
    ...extra,
  };
}

function logger(): Logger & { lines: Array<{ msg: string; fields: Record<string, unknown> | undefined }> } {
  const lines: Array<{ msg: string; fields: Record<string, unknown> | undefined }> = [];
  return { lines, log: (_level, msg, fields) => lines.push({ msg, fields }) };
}

const caller = (): { pid: number; namespace: string; path: (p: string) => string } => ({ pid, namespace, path: (p) => p });

describe('ViewMounter', () => {
  it('mounts the view of a closure of minPaths or more after its create, the symlink left to the view', async () => {
    root = mkdtempSync(join(tmpdir(), 'flox-view-mounter-'));
    const log = logger();
    const mounter = new ViewMounter({ minPaths: 3, maxMounts: 100, profilesDir: join(root, 'profiles'), log, mountNamespacePids: [pid] });
    const plan = profile('big', 3);
    mounter.created(plan, caller());
    mounter.created(plan, caller()); // a second create meanwhile: one mount job
    await mounter.idle();
    expect(mountsUnder(plan.storeView.hostPath)).toBe(4);
    expect(existsSync(viewMountsRecord(plan.storeView.hostPath))).toBe(true);
    expect(mounter.mounts).toBe(4);
    expect(log.lines.filter((l) => l.msg === 'store view mounted')).toHaveLength(1);
    // What the namespace sees through the view is the store path.
    const base = (plan.storePaths[0] as string).slice('/nix/store/'.length);
    expect(readFileSync(`/proc/${pid}/root${plan.storeView.hostPath}/${base}/file`, 'utf8')).toBe(base);
  });

  it('mounts after the runc caller is gone: its namespace and root are held from the create', async () => {
    root = mkdtempSync(join(tmpdir(), 'flox-view-mounter-'));
    const log = logger();
    const mounter = new ViewMounter({ minPaths: 3, maxMounts: 100, profilesDir: join(root, 'profiles'), log, mountNamespacePids: [pid] });
    const plan = profile('gone', 3);
    // A front in the sleeper's namespace, reached through /proc/<pid>/root as the service reaches it.
    const front = spawn('nsenter', [`--mount=/proc/${pid}/ns/mnt`, '--', 'sleep', '30'], { stdio: 'ignore' });
    const frontPid = front.pid as number;
    for (let i = 0; i < 200 && mountNamespaceOf(frontPid) !== namespace; i++) await new Promise((r) => setTimeout(r, 10));
    mounter.created(plan, { pid: frontPid, namespace, path: (p) => `/proc/${frontPid}/root${p}` });
    front.kill('SIGKILL');
    await new Promise((r) => front.once('exit', r));
    await mounter.idle();
    expect(log.lines.map((l) => l.msg)).toContain('store view mounted');
    expect(mountsUnder(plan.storeView.hostPath)).toBe(4);
  });

  it('leaves small closures, nix-mutable plans, a caller whose namespace changed and a mounted plan alone', async () => {
    root = mkdtempSync(join(tmpdir(), 'flox-view-mounter-'));
    const mounter = new ViewMounter({ minPaths: 3, maxMounts: 100, profilesDir: join(root, 'profiles'), log: logger(), mountNamespacePids: [pid] });
    const small = profile('small', 2);
    const mutable = profile('mutable', 3, { nixMutable: { scratchDir: '/s', storeLower: '/s/e', directories: [] } });
    const moved = profile('moved', 3);
    const mounted = profile('mounted', 3);
    mounter.created(small, caller());
    mounter.created(mutable, caller());
    mounter.created(moved, { ...caller(), namespace: mountNamespaceOf(process.pid) as string });
    mounter.created({ ...mounted, storeView: { ...mounted.storeView, mounted: true } }, caller());
    await mounter.idle();
    for (const plan of [small, mutable, moved, mounted]) expect(mountsUnder(plan.storeView.hostPath)).toBe(0);
    expect(mounter.mounts).toBe(0);
  });

  it('stays within maxMounts: evicts the view unused the longest, never one used within idleMs', async () => {
    root = mkdtempSync(join(tmpdir(), 'flox-view-mounter-'));
    const log = logger();
    const events: string[] = [];
    const options = { minPaths: 3, maxMounts: 9, profilesDir: join(root, 'profiles'), log, mountNamespacePids: [pid], onEvent: (e: string) => events.push(e) };
    const busy = new ViewMounter({ ...options, idleMs: 60_000 });
    const [a, b, c] = [profile('aa', 3), profile('bbb', 3), profile('cccc', 3)];
    busy.created(a, caller());
    busy.created(b, caller());
    await busy.idle();
    expect(busy.mounts).toBe(8);
    // Both just mounted (records new): no room for c.
    busy.created(c, caller());
    await busy.idle();
    expect(mountsUnder(c.storeView.hostPath)).toBe(0);
    expect(log.lines.some((l) => l.msg.startsWith('store view not mounted'))).toBe(true);

    // A restarted service counts what is mounted (not a record of an earlier boot, which it
    // drops); a's record is the oldest.
    const old = new Date(Date.now() - 300_000);
    utimesSync(viewMountsRecord(a.storeView.hostPath), old, old);
    const stale = profile('stale', 3);
    writeFileSync(viewMountsRecord(stale.storeView.hostPath), JSON.stringify({ version: 1, bootId: '00000000-0000-0000-0000-000000000000', namespace, mounts: 4 }));
    const restarted = new ViewMounter({ ...options, idleMs: 60_000 });
    expect(restarted.mounts).toBe(8);
    expect(existsSync(viewMountsRecord(stale.storeView.hostPath))).toBe(false);
    restarted.created(c, caller());
    await restarted.idle();
    expect(mountsUnder(a.storeView.hostPath)).toBe(0);
    expect(existsSync(viewMountsRecord(a.storeView.hostPath))).toBe(false);
    expect(mountsUnder(b.storeView.hostPath)).toBe(4);
    expect(mountsUnder(c.storeView.hostPath)).toBe(4);
    expect(restarted.mounts).toBe(8);
    expect(events).toEqual(['mounted', 'mounted', 'no-room', 'evicted', 'mounted']);
    // A view taken down elsewhere (GC removes the record first) holds no budget any more.
    rmSync(viewMountsRecord(b.storeView.hostPath));
    expect(restarted.mounts).toBe(4);
  });

  it('a failed mount is logged, leaves nothing mounted, and is not retried at once', async () => {
    root = mkdtempSync(join(tmpdir(), 'flox-view-mounter-'));
    const log = logger();
    const events: string[] = [];
    const mounter = new ViewMounter({ minPaths: 3, maxMounts: 100, profilesDir: join(root, 'profiles'), log, mountNamespacePids: [pid], onEvent: (e) => events.push(e) });
    const plan = profile('broken', 3);
    rmSync(join(plan.hostStoreDir, (plan.storePaths[1] as string).slice('/nix/store/'.length)), { recursive: true });
    mounter.created(plan, caller());
    await mounter.idle();
    mounter.created(plan, caller());
    await mounter.idle();
    expect(mountsUnder(plan.storeView.hostPath)).toBe(0);
    const failed = log.lines.filter((l) => l.msg.startsWith('store view mount failed'));
    expect(failed).toHaveLength(1);
    expect(failed[0]?.fields?.['error']).toMatchObject({ code: 'FLOXK8S_STORE_VIEW_MOUNT', step: 'mount' });
    expect(events).toEqual(['failed']);
  });
});
