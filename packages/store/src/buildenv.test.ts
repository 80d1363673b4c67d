import { mkdirSync, readdirSync, rmSync, symlinkSync, unlinkSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { buildEnv, type HostMapper } from './buildenv.ts';
import { cleanup, nixAdd, nixEnvProfile, profileTree, tempDir } from '../test/helpers.ts';

// Packages are added to the host's real /nix/store with `nix-store --add`, so
// Nix's own buildenv (`nix-env -i`) can build the reference profile from the
// very same paths; ours reads them through an identity mapping.
const identity: HostMapper = (p) => (p === '/nix/store' || p.startsWith('/nix/store/') ? p : undefined);

let work: string;
let seq = 0;
const profileLinks: string[] = [];

function pkg(name: string, files: Record<string, string | { link: string } | null>): string {
  const dir = join(work, `src-${++seq}`, name);
  mkdirSync(dir, { recursive: true });
  for (const [rel, content] of Object.entries(files)) {
    const file = join(dir, rel);
    mkdirSync(join(file, '..'), { recursive: true });
    if (content === null) mkdirSync(file, { recursive: true });
    else if (typeof content === 'string') writeFileSync(file, content);
    else symlinkSync(content.link, file);
  }
  return nixAdd(dir);
}

function ours(packages: Array<{ name: string; path: string; priority: number }>): string {
  const out = join(work, `ours-${++seq}`);
  mkdirSync(out);
  buildEnv(out, packages.map((p) => ({ name: p.name, paths: [p.path], priority: p.priority })), identity);
  return out;
}

function theirs(packages: Array<{ name: string; path: string; priority: number }>): { dir?: string; stderr: string } {
  const link = join(work, `nix-profile-${++seq}`);
  profileLinks.push(link);
  return nixEnvProfile(link, packages);
}

const noManifest = (rel: string): boolean => rel === 'manifest.nix';

beforeAll(() => {
  work = tempDir('flox-buildenv-test-');
});
afterAll(() => {
  // profile links (and their generations) are GC roots of the host Nix: remove them
  for (const name of readdirSync(work)) if (name.startsWith('nix-profile-')) unlinkSync(join(work, name));
  cleanup(work);
});

describe('buildEnv matches Nix buildenv', () => {
  it('merges directories recursively and links whole directories when only one package has them', () => {
    const a = pkg('pkg-a', { 'bin/a': '#!a', 'share/doc/a.txt': 'a', 'share/man/man1/a.1': 'a', 'lib/liba.so': 'x' });
    const b = pkg('pkg-b', { 'bin/b': '#!b', 'share/doc/b.txt': 'b', 'etc/b.conf': 'b' });
    const c = pkg('pkg-c', { 'share/doc/sub/c.txt': 'c', '.hidden': 'h', 'nix-support/propagated-build-inputs': '' });
    const pkgs = [
      { name: 'pkg-a', path: a, priority: 5 },
      { name: 'pkg-b', path: b, priority: 5 },
      { name: 'pkg-c', path: c, priority: 5 },
    ];
    const nix = theirs(pkgs);
    expect(nix.stderr).toBe('');
    const tree = profileTree(ours(pkgs));
    expect(tree).toEqual(profileTree(nix.dir as string, noManifest));
    expect(tree).toContain(`lib -> ${a}/lib`);
    expect(tree).toContain('share/doc/');
    expect(tree).toContain(`share/doc/sub -> ${c}/share/doc/sub`);
    expect(tree.some((r) => r.includes('.hidden') || r.includes('nix-support'))).toBe(false);
  });

  it('resolves a file conflict by priority (lower number wins), in either install order', () => {
    const a = pkg('prio-a', { 'bin/tool': 'from a', 'share/x/a': 'a' });
    const b = pkg('prio-b', { 'bin/tool': 'from b', 'share/x/b': 'b' });
    for (const [pa, pb] of [
      [5, 4],
      [4, 5],
    ] as const) {
      const pkgs = [
        { name: 'prio-a', path: a, priority: pa },
        { name: 'prio-b', path: b, priority: pb },
      ];
      const nix = theirs(pkgs);
      expect(nix.stderr).toBe('');
      const tree = profileTree(ours(pkgs));
      expect(tree).toEqual(profileTree(nix.dir as string, noManifest));
      expect(tree).toContain(`bin/tool -> ${pa < pb ? a : b}/bin/tool`);
    }
  });

  it('follows symlinked directories like Nix (a package dir that is a symlink merges with a real one)', () => {
    const target = pkg('link-target', { 'share/icons/t.png': 't' });
    const a = pkg('link-a', { 'share/icons': { link: `${target}/share/icons` }, 'bin/a': 'a' });
    const b = pkg('link-b', { 'share/icons/b.png': 'b', 'share/dangling': { link: '/nix/store/00000000000000000000000000000000-nope/x' } });
    const pkgs = [
      { name: 'link-a', path: a, priority: 5 },
      { name: 'link-b', path: b, priority: 5 },
    ];
    const nix = theirs(pkgs);
    const tree = profileTree(ours(pkgs));
    expect(tree).toEqual(profileTree(nix.dir as string, noManifest));
    expect(tree).toContain(`share/icons/t.png -> ${target}/share/icons/t.png`);
    expect(tree.some((r) => r.includes('dangling'))).toBe(false);
  });

  it('an equal-priority conflict is an error naming both packages (Nix fails too)', () => {
    const a = pkg('same-a', { 'bin/tool': 'a' });
    const b = pkg('same-b', { 'bin/tool': 'b' });
    const pkgs = [
      { name: 'same-a', path: a, priority: 5 },
      { name: 'same-b', path: b, priority: 5 },
    ];
    // Nix must fail for the conflict itself, not for a machine problem (e.g. no nixbld group).
    const nix = theirs(pkgs);
    expect(nix.dir).toBeUndefined();
    expect(nix.stderr).toMatch(/have the same priority 5/);
    let err: unknown;
    try {
      ours(pkgs);
    } catch (e) {
      err = e;
    }
    expect(err).toMatchObject({ code: 'FLOXK8S_STORE_PROFILE_CONFLICT', packages: ['same-a', 'same-b'], file: 'bin/tool' });
    expect((err as Error).message).toContain('same-a');
    expect((err as Error).message).toContain('same-b');
  });

  it('a file where other packages merged a directory is a collision error (Nix fails too)', () => {
    const a = pkg('coll-a', { 'share/doc/x': 'x' });
    const b = pkg('coll-b', { 'share/doc/y': 'y' });
    const c = pkg('coll-c', { 'share/doc': 'i am a file' });
    const pkgs = [
      { name: 'coll-a', path: a, priority: 5 },
      { name: 'coll-b', path: b, priority: 5 },
      { name: 'coll-c', path: c, priority: 6 },
    ];
    const nix = theirs(pkgs);
    expect(nix.dir).toBeUndefined();
    expect(nix.stderr).toMatch(/error: collision between /);
    expect(() => ours(pkgs)).toThrow(expect.objectContaining({ code: 'FLOXK8S_STORE_PROFILE_COLLISION' }));
  });

  it('a lower-priority file where a directory is linked is dropped, as Nix does', () => {
    const a = pkg('keep-a', { 'share/doc/x': 'x' });
    const b = pkg('keep-b', { 'share/doc': 'file', 'bin/b': 'b' });
    const pkgs = [
      { name: 'keep-a', path: a, priority: 5 },
      { name: 'keep-b', path: b, priority: 6 },
    ];
    const nix = theirs(pkgs);
    expect(nix.stderr).toBe('');
    expect(profileTree(ours(pkgs))).toEqual(profileTree(nix.dir as string, noManifest));
  });
});

describe('buildEnv with a host store in a different place', () => {
  it('reads host copies but links to in-container paths', () => {
    const host = tempDir('flox-buildenv-host-');
    try {
      const p = '/nix/store/0c0mkzr2yhn4ww6a2yv0kjdwzr9ms0dn-thing-1.0';
      const hostPkg = join(host, 'store', '0c0mkzr2yhn4ww6a2yv0kjdwzr9ms0dn-thing-1.0');
      mkdirSync(join(hostPkg, 'bin'), { recursive: true });
      writeFileSync(join(hostPkg, 'bin', 'thing'), 'x');
      // an absolute in-container symlink: only resolvable through the mapping
      symlinkSync(`${p}/bin`, join(hostPkg, 'sbin'));
      const out = join(host, 'out');
      mkdirSync(out);
      const mapper: HostMapper = (c) =>
        c === '/nix/store' ? join(host, 'store') : c.startsWith('/nix/store/') ? join(host, 'store', c.slice(11)) : undefined;
      buildEnv(out, [{ name: 'thing', paths: [p], priority: 5 }], mapper);
      expect(profileTree(out)).toEqual([`bin -> ${p}/bin`, `sbin -> ${p}/sbin`]);
    } finally {
      rmSync(host, { recursive: true, force: true });
    }
  });
});
