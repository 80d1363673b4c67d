// Every running container is a GC root however its closure was realised: the interposer records a
// root per container at `runc create`; GC keeps it while the creating process runs or runc's state
// directory for the container exists, releases it after `runc delete`, and fails closed on it.
import { spawn, spawnSync } from 'node:child_process';
import { mkdirSync, readdirSync, readFileSync, rmSync, symlinkSync, truncateSync, utimesSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { containerRootName, waitWhileGcRuns, writeContainerRoot } from './container-roots.ts';
import { processStartTime, selfOwner } from './process-owner.ts';
import { Store } from './store.ts';
import { cleanup, fakeStorePath, placePath, tempDir } from '../test/helpers.ts';

const dirs: string[] = [];
afterEach(() => {
  for (const d of dirs.splice(0)) cleanup(d);
});

const p = (name: string): string => fakeStorePath(name);
// A process that has exited: its pid is no longer the same process (or any).
const exitedPid = spawnSync('/bin/sh', ['-c', 'echo $$'], { encoding: 'utf8' }).stdout.trim();

interface Fixture {
  store: Store;
  root: string;
  /** Stands for the host's `/` (GC's hostRoot). */
  host: string;
  runcRoot: string;
}

/** A store with app -> dep (a container's closure) and garbage, and a host dir holding runc's state. */
async function fixture(): Promise<Fixture> {
  const root = tempDir();
  const host = tempDir('flox-host-');
  dirs.push(root, host);
  const store = await Store.open(root);
  await placePath(root, p('dep'));
  await placePath(root, p('app'), { references: [p('dep')] });
  await placePath(root, p('garbage'));
  const runcRoot = '/run/containerd/runc/k8s.io';
  mkdirSync(join(host, runcRoot), { recursive: true });
  return { store, root, host, runcRoot };
}

const stored = (root: string): string[] => readdirSync(join(root, 'store')).sort();
const base = (name: string): string => p(name).slice('/nix/store/'.length);

/** Rewrites a root as if another process (`pid`) had created it. */
function creatorIs(file: string, pid: string, boot?: string): void {
  const root = JSON.parse(readFileSync(file, 'utf8')) as { creator: { pid: number; boot: string } };
  root.creator.pid = Number(pid);
  if (boot !== undefined) root.creator.boot = boot;
  writeFileSync(file, JSON.stringify(root));
}

describe('container roots', () => {
  it('hold a closure while the creating process runs (before runc wrote its state)', async () => {
    const { store, root, host, runcRoot } = await fixture();
    writeContainerRoot(root, { containerId: 'c1', runcRoot, roots: [p('app')], environment: 'acme/app' });
    const result = await store.gc({ hostRoot: host });
    expect(result.deleted).toEqual([p('garbage')]);
    expect(result.containerRoots).toEqual({ live: 1, released: 0 });
    expect(stored(root)).toEqual([base('app'), base('dep')].sort());
  });

  it('hold it while runc\'s state directory exists, and are released after runc delete', async () => {
    const { store, root, host, runcRoot } = await fixture();
    const file = writeContainerRoot(root, { containerId: 'c1', runcRoot, roots: [p('app')] });
    creatorIs(file, exitedPid);
    mkdirSync(join(host, runcRoot, 'c1'));
    expect((await store.gc({ hostRoot: host })).containerRoots).toEqual({ live: 1, released: 0 });
    expect(stored(root)).toEqual([base('app'), base('dep')].sort());

    rmSync(join(host, runcRoot, 'c1'), { recursive: true }); // runc delete
    const after = await store.gc({ hostRoot: host });
    expect(after.containerRoots).toEqual({ live: 0, released: 1 });
    expect(after.deleted.sort()).toEqual([p('app'), p('dep')].sort());
    expect(readdirSync(join(root, 'roots', 'containers'))).toEqual([]);
  });

  it('are released at once after a reboot (another boot id, runc state gone)', async () => {
    const { store, root, host, runcRoot } = await fixture();
    const file = writeContainerRoot(root, { containerId: 'c1', runcRoot, roots: [p('app')] });
    creatorIs(file, String(process.pid), 'a-previous-boot');
    expect((await store.gc({ hostRoot: host })).containerRoots).toEqual({ live: 0, released: 1 });
    expect(stored(root)).toEqual([]);
  });

  it('one per container: a second create of the same id replaces it; another runc root is another container', async () => {
    const { root, runcRoot } = await fixture();
    const a = writeContainerRoot(root, { containerId: 'c1', runcRoot, roots: [p('garbage')] });
    expect(writeContainerRoot(root, { containerId: 'c1', runcRoot, roots: [p('app')] })).toBe(a);
    expect((JSON.parse(readFileSync(a, 'utf8')) as { roots: string[] }).roots).toEqual([p('app')]);
    expect(writeContainerRoot(root, { containerId: 'c1', runcRoot: '/run/runc', roots: [p('app')] })).not.toBe(a);
    expect(readdirSync(join(root, 'roots', 'containers'))).toHaveLength(2);
  });

  it('the roots directory is made once per process, and again when something removed it since', async () => {
    const { root, runcRoot } = await fixture();
    const first = writeContainerRoot(root, { containerId: 'c1', runcRoot, roots: [p('app')] });
    rmSync(join(root, 'roots'), { recursive: true });
    const second = writeContainerRoot(root, { containerId: 'c2', runcRoot, roots: [p('dep')] });
    expect(readdirSync(join(root, 'roots', 'containers'))).toEqual([second.slice(second.lastIndexOf('/') + 1)]);
    expect(first).not.toBe(second);
    expect((JSON.parse(readFileSync(second, 'utf8')) as { roots: string[] }).roots).toEqual([p('dep')]);
    // Any other failure is the write's own, with its code.
    rmSync(join(root, 'roots'), { recursive: true });
    writeFileSync(join(root, 'roots'), 'not a directory');
    expect(() => writeContainerRoot(root, { containerId: 'c3', runcRoot, roots: [] })).toThrow(expect.objectContaining({ code: 'FLOXK8S_STORE_WRITE_FAILED' }));
  });

  it('reject ids and runc roots that are not runc\'s', async () => {
    const { root, runcRoot } = await fixture();
    for (const containerId of ['..', 'a/b', '', 'x'.repeat(1025)]) {
      expect(() => writeContainerRoot(root, { containerId, runcRoot, roots: [] })).toThrow(expect.objectContaining({ code: 'FLOXK8S_STORE_OPTIONS_INVALID' }));
    }
    expect(() => writeContainerRoot(root, { containerId: 'c', runcRoot: 'run/runc', roots: [] })).toThrow(expect.objectContaining({ code: 'FLOXK8S_STORE_OPTIONS_INVALID' }));
    expect(() => writeContainerRoot(root, { containerId: 'c', runcRoot: '/run/../etc', roots: [] })).toThrow(expect.objectContaining({ code: 'FLOXK8S_STORE_OPTIONS_INVALID' }));
    expect(() => writeContainerRoot(root, { containerId: 'c', runcRoot, creatorPid: Number(exitedPid), roots: [] })).toThrow(expect.objectContaining({ code: 'FLOXK8S_STORE_OPTIONS_INVALID' }));
  });

  it('waitWhileGcRuns waits while another live process holds the store\'s GC lock, and ends on its signal', async () => {
    const { root } = await fixture();
    const started = performance.now();
    await waitWhileGcRuns(root);
    expect(performance.now() - started).toBeLessThan(100);
    // gc.lock held by a GC in another process (the lock names its holder: pid, start time, boot).
    const holder = spawn('/bin/sleep', ['0.6']);
    const owner = `${holder.pid}:${processStartTime(holder.pid as number)}:${selfOwner().boot}`;
    symlinkSync(owner, join(root, 'gc.lock'));
    const waiting = performance.now();
    await waitWhileGcRuns(root);
    expect(performance.now() - waiting).toBeGreaterThan(400);
    // A holder that stays: the caller's deadline ends the wait with its code.
    const stays = spawn('/bin/sleep', ['30']);
    rmSync(join(root, 'gc.lock'));
    symlinkSync(`${stays.pid}:${processStartTime(stays.pid as number)}:${selfOwner().boot}`, join(root, 'gc.lock'));
    try {
      await expect(waitWhileGcRuns(root, AbortSignal.timeout(100))).rejects.toMatchObject({ code: 'FLOXK8S_STORE_ABORTED' });
    } finally {
      stays.kill();
    }
  });
});

describe('GC fails closed on container roots', () => {
  type Damage = [name: string, reason: string, damage: (file: string, f: Fixture) => void];
  const damages: Damage[] = [
    ['torn', 'torn', (file) => truncateSync(file, Math.floor(readFileSync(file).length / 2))],
    ['empty', 'empty', (file) => truncateSync(file, 0)],
    ['a directory', 'not-a-file', (file) => (rmSync(file), mkdirSync(file))],
    ['of another container than its name says', 'schema', (file) => writeFileSync(file, readFileSync(file, 'utf8').replace('"c1"', '"c2"'))],
    ['naming a path outside the store', 'schema', (file) => writeFileSync(file, readFileSync(file, 'utf8').replace(p('app'), '/etc'))],
    ['with an id runc would not take', 'schema', (file) => writeFileSync(file, readFileSync(file, 'utf8').replace('"c1"', '"../c1"'))],
    // lstat of <runcRoot>/c1 fails with ENOTDIR: the state cannot be checked.
    ['whose runc state cannot be checked', 'unreadable', (file, f) => (creatorIs(file, exitedPid), rmSync(join(f.host, f.runcRoot), { recursive: true }), writeFileSync(join(f.host, f.runcRoot), 'not a directory'))],
  ];
  it.each(damages)('a container root %s stops GC (%s) and nothing is deleted', async (_name, reason, damage) => {
    const f = await fixture();
    const file = writeContainerRoot(f.root, { containerId: 'c1', runcRoot: f.runcRoot, roots: [p('app')] });
    damage(file, f);
    const before = stored(f.root);
    await expect(f.store.gc({ hostRoot: f.host })).rejects.toMatchObject({ code: 'FLOXK8S_STORE_GC_ROOT_UNREADABLE', reason, file });
    expect(stored(f.root)).toEqual(before);
  });

  it('a stray file among the container roots stops GC', async () => {
    const f = await fixture();
    const stray = join(f.root, 'roots', 'containers', 'notes.txt');
    writeFileSync(stray, 'x');
    await expect(f.store.gc({ hostRoot: f.host })).rejects.toMatchObject({ code: 'FLOXK8S_STORE_GC_ROOT_UNREADABLE', reason: 'unexpected-entry', file: stray });
  });

  it('a torn container root written before this boot is removed (a power loss tore it; its container is gone)', async () => {
    const f = await fixture();
    const file = writeContainerRoot(f.root, { containerId: 'c1', runcRoot: f.runcRoot, roots: [p('app')] });
    truncateSync(file, 10);
    utimesSync(file, new Date(1_000_000), new Date(1_000_000));
    const result = await f.store.gc({ hostRoot: f.host });
    expect(result.containerRoots).toEqual({ live: 0, released: 1 });
    expect(stored(f.root)).toEqual([]);
  });

  it('a dead writer\'s temp file is debris, a live one\'s is passed over', async () => {
    const f = await fixture();
    const name = containerRootName(f.runcRoot, 'c1');
    const dead = join(f.root, 'roots', 'containers', `.${name}.${exitedPid}-1.tmp`);
    writeFileSync(dead, '{');
    const result = await f.store.gc({ hostRoot: f.host });
    expect(result.containerRoots).toEqual({ live: 0, released: 0 });
    expect(readdirSync(join(f.root, 'roots', 'containers'))).toEqual([]);
  });
});
