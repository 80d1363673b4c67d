// verifyMountSources on real files: what is behind each mount source, and every directory above it.
import { chmodSync, chownSync, mkdirSync, mkdtempSync, rmSync, symlinkSync, writeFileSync } from 'node:fs';
import { execFileSync } from 'node:child_process';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeEach, describe, expect, it } from 'vitest';
import type { PatchPlan } from '@flox-k8s/oci-patch';
import { verifyMountSources } from './mount-sources.ts';

const DIR_PATH = '/nix/store/00000000000000000000000000000001-dir';
const FILE_PATH = '/nix/store/00000000000000000000000000000002-file';
const LINK_PATH = '/nix/store/00000000000000000000000000000003-link';
const base = (p: string): string => p.slice('/nix/store/'.length);
const isRoot = process.getuid?.() === 0;

const top = mkdtempSync(join(tmpdir(), 'flox-mount-sources-'));
afterAll(() => rmSync(top, { recursive: true, force: true }));
let root: string;
let n = 0;

/** A store root as the store lays it out: a directory path, a file path, a symlink path (to a host directory). */
beforeEach(() => {
  root = join(top, `r${n++}`, 'root');
  mkdirSync(join(root, 'store', base(DIR_PATH)), { recursive: true });
  writeFileSync(join(root, 'store', base(FILE_PATH)), 'file\n');
  symlinkSync('/etc', join(root, 'store', base(LINK_PATH)));
  mkdirSync(join(root, 'profiles', 'p', '.flox-k8s', 'nix-store'), { recursive: true });
});

function plan(overrides: Partial<PatchPlan> = {}): PatchPlan {
  return {
    hostStoreDir: join(root, 'store'),
    storePaths: [DIR_PATH, FILE_PATH, LINK_PATH],
    storeView: { hostPath: join(root, 'profiles', 'p', '.flox-k8s', 'nix-store'), symlinks: [LINK_PATH] },
    profile: { hostPath: join(root, 'profiles', 'p'), containerPath: '/run/flox-k8s/env' },
    env: [],
    applied: { environment: 'acme/x', digest: 'ab'.repeat(32) },
    ...overrides,
  };
}

const refused = (source: string, problem: string) => expect.objectContaining({ code: 'FLOXK8S_MOUNT_SOURCE_INVALID', source, problem });

describe('verifyMountSources', () => {
  it('accepts directories and files the store made; a symlink store path is no mount source', () => {
    expect(() => verifyMountSources(plan(), root)).not.toThrow();
  });

  it('reads through the caller root, as the patch service does (/proc/<pid>/root)', () => {
    expect(() => verifyMountSources(plan(), root, (p) => `/proc/${process.pid}/root${p}`)).not.toThrow();
    rmSync(join(root, 'store', base(DIR_PATH)), { recursive: true });
    symlinkSync('/etc', join(root, 'store', base(DIR_PATH)));
    expect(() => verifyMountSources(plan(), root, (p) => `/proc/${process.pid}/root${p}`)).toThrow(refused(join(root, 'store', base(DIR_PATH)), 'symlink'));
  });

  it('refuses a store path replaced by a symlink after realise (runc would follow it on the host)', () => {
    const source = join(root, 'store', base(DIR_PATH));
    rmSync(source, { recursive: true });
    symlinkSync('/etc', source);
    expect(() => verifyMountSources(plan(), root)).toThrow(refused(source, 'symlink'));
  });

  it('refuses a symlink store path the plan would bind-mount (not listed as a symlink)', () => {
    expect(() => verifyMountSources(plan({ storeView: { ...plan().storeView, symlinks: [] } }), root)).toThrow(
      refused(join(root, 'store', base(LINK_PATH)), 'symlink'),
    );
  });

  it('refuses a missing source, a FIFO, and a store view or profile that is not a real directory', () => {
    rmSync(join(root, 'store', base(FILE_PATH)));
    expect(() => verifyMountSources(plan(), root)).toThrow(refused(join(root, 'store', base(FILE_PATH)), 'missing'));
    execFileSync('mkfifo', [join(root, 'store', base(FILE_PATH))]);
    expect(() => verifyMountSources(plan(), root)).toThrow(refused(join(root, 'store', base(FILE_PATH)), 'not-a-directory-or-file'));
    rmSync(join(root, 'store', base(FILE_PATH)));
    writeFileSync(join(root, 'store', base(FILE_PATH)), '');
    const view = plan().storeView.hostPath;
    rmSync(view, { recursive: true });
    symlinkSync(join(root, 'store'), view);
    expect(() => verifyMountSources(plan(), root)).toThrow(refused(view, 'symlink'));
    rmSync(view);
    writeFileSync(view, '');
    expect(() => verifyMountSources(plan(), root)).toThrow(refused(view, 'not-a-directory'));
  });

  it('refuses sources outside the store root', () => {
    expect(() => verifyMountSources(plan({ profile: { hostPath: '/etc', containerPath: '/run/flox-k8s/env' } }), root)).toThrow(refused('/etc', 'outside-store'));
  });

  it('refuses a symlink or a group/other-writable directory on the way (someone could swap the source)', () => {
    const store = join(root, 'store');
    chmodSync(store, 0o777);
    expect(() => verifyMountSources(plan(), root)).toThrow(refused(join(store, base(DIR_PATH)), 'unsafe-parent'));
    chmodSync(store, 0o755);
    chmodSync(root, 0o775);
    // The store view is checked first: profiles/ is the first entry of the writable root on its way.
    expect(() => verifyMountSources(plan(), root)).toThrow(refused(join(root, 'profiles'), 'unsafe-parent'));
    chmodSync(root, 0o755);
    // A sticky, world-writable directory (like /tmp) is fine when what is in it belongs to root.
    chmodSync(root, 0o1777);
    expect(() => verifyMountSources(plan(), root)).not.toThrow();
    chmodSync(root, 0o755);
    // The whole store directory moved and replaced by a symlink.
    const real = join(root, 'store-real');
    execFileSync('mv', [store, real]);
    symlinkSync(real, store);
    expect(() => verifyMountSources(plan(), root)).toThrow(refused(store, 'unsafe-parent'));
  });

  it.skipIf(!isRoot && process.env['CI'] !== 'true')('refuses a directory on the way owned by another user (root only)', () => {
    const store = join(root, 'store');
    chownSync(store, 65534, 65534);
    expect(() => verifyMountSources(plan(), root)).toThrow(refused(store, 'unsafe-parent'));
    chownSync(store, 0, 0);
    // Under a sticky directory, another user's entry could be replaced by its owner.
    chmodSync(store, 0o1777);
    expect(() => verifyMountSources(plan(), root)).not.toThrow();
    chownSync(join(store, base(DIR_PATH)), 65534, 65534);
    expect(() => verifyMountSources(plan(), root)).toThrow(refused(join(store, base(DIR_PATH)), 'unsafe-parent'));
  });
});

describe('verifyMountSources with a memo (the patch service: one plan, many creates)', () => {
  // Paths looked at by two checks of the same plan (every lstat goes through the caller-path mapping).
  const lookupsOfTwoChecks = (shared: PatchPlan, memo: { now: () => number }): [number, number] => {
    const counts: number[] = [];
    for (let i = 0; i < 2; i++) {
      let calls = 0;
      verifyMountSources(shared, root, (p) => (calls++, p), memo);
      counts.push(calls);
    }
    return counts as [number, number];
  };
  // A clock far enough ahead that the just-made directories count as settled.
  const later = { now: () => Date.now() + 60_000 };
  const tick = (): Promise<void> => new Promise((r) => setTimeout(r, 30));

  it('skips the per-source lstats while the source directories are unchanged, and still checks everything above them', () => {
    const shared = plan();
    const [first, second] = lookupsOfTwoChecks(shared, later);
    expect(second).toBeLessThan(first);
    // The directories on the way are still checked on a hit (a chmod of the root leaves the
    // source directories' ctimes as they were).
    chmodSync(root, 0o775);
    expect(() => verifyMountSources(shared, root, (p) => p, later)).toThrow(refused(join(root, 'profiles'), 'unsafe-parent'));
    chmodSync(root, 0o755);
  });

  it('sees a source replaced after a remembered check (its directory changed)', async () => {
    const shared = plan();
    verifyMountSources(shared, root, (p) => p, later);
    // Past the kernel's coarse timestamp tick, as any later change would be.
    await tick();
    const source = join(root, 'store', base(DIR_PATH));
    rmSync(source, { recursive: true });
    symlinkSync('/etc', source);
    expect(() => verifyMountSources(shared, root, (p) => p, later)).toThrow(refused(source, 'symlink'));
  });

  it('does not remember directories changed within the last second (their ctime may not show a change in the same tick)', () => {
    const [first, second] = lookupsOfTwoChecks(plan(), { now: Date.now });
    expect(second).toBe(first);
  });

  it('does not remember sources in a directory writable by others (each source owner matters there)', () => {
    chmodSync(join(root, 'store'), 0o1777);
    const [first, second] = lookupsOfTwoChecks(plan(), later);
    expect(second).toBe(first);
    chmodSync(join(root, 'store'), 0o755);
  });
});
