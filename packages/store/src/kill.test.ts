// SIGKILL at random points during GC, lease writes and profile builds. After
// Store.open recovers: no valid path misses a reference, no root is torn, the
// leased closures are whole, and GC still works.
import { spawn } from 'node:child_process';
import { existsSync, mkdtempSync, readdirSync, readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { NixFixtures, ServedCache } from '@flox-k8s/nix-fixtures';
import { Store } from './store.ts';
import { writeSyntheticStore } from '../bench/synthetic.ts';
import { childResult, cleanup, heldLocks, servedFixtures, waitForLine } from '../test/helpers.ts';
import { debris } from '../test/store-state.ts';

const dirs: string[] = [];
afterAll(() => {
  for (const d of dirs) cleanup(d);
});

function scratch(): string {
  const dir = mkdtempSync(join(existsSync('/dev/shm') ? '/dev/shm' : tmpdir(), 'flox-store-kill-'));
  dirs.push(dir);
  return dir;
}

function spawnChild(args: object): ReturnType<typeof spawn> {
  return spawn(process.execPath, ['--conditions=@flox-k8s/source', join(import.meta.dirname, '..', 'test', 'store-child.ts'), JSON.stringify(args)], {
    stdio: ['ignore', 'pipe', 'pipe'],
  });
}

/** Runs the child until `killAfterMs` after it is ready, then SIGKILLs it; true when it finished first. */
async function killAt(args: object, killAfterMs: number): Promise<boolean> {
  const child = spawnChild(args);
  const exited = childResult(child, 120_000);
  await waitForLine(child, 'ready', 60_000);
  await sleep(killAfterMs);
  const finished = child.exitCode !== null;
  child.kill('SIGKILL');
  const r = await exited;
  if (finished) expect(r.code, r.stderr).toBe(0);
  return finished;
}

/** Every valid path's references are valid (read from the records on disk). */
function expectClosed(root: string): number {
  const present = new Set(readdirSync(join(root, 'store')));
  let valid = 0;
  for (const name of readdirSync(join(root, 'meta'))) {
    const base = name.slice(0, -'.json'.length);
    if (!present.has(base)) continue;
    valid++;
    const record = JSON.parse(readFileSync(join(root, 'meta', name), 'utf8')) as { references: string[] };
    for (const ref of record.references) expect(present.has(ref.slice(11)), `${base} references ${ref}`).toBe(true);
  }
  return valid;
}

/** Runs the child to its end; ms from "ready" to exit. */
async function runToEnd(args: object): Promise<number> {
  const child = spawnChild(args);
  const exited = childResult(child, 120_000);
  await waitForLine(child, 'ready', 60_000);
  const started = Date.now();
  const r = await exited;
  expect(r.code, r.stderr).toBe(0);
  return Date.now() - started;
}

describe('SIGKILL during GC', () => {
  const COUNT = 3_000;
  const KILLS = 10;

  it(`a GC of ${COUNT} paths killed at ${KILLS} random points leaves a closed store whose leases hold, and GC completes after`, async () => {
    const setup = async (): Promise<{ root: string; leased: string[] }> => {
      const root = scratch();
      // chains of 10 (path j references j-1 within its chain); every 10th chain's head is leased
      const paths = writeSyntheticStore(root, COUNT, (j) => (j % 10 === 0 ? [] : [j - 1]), 'kill');
      const leased = paths.filter((_, j) => j % 100 === 99);
      (await Store.open(root, { fsync: false })).lease('pod', leased, 3_600_000);
      return { root, leased };
    };
    const kept = (COUNT / 100) * 10;
    const gcMs = await runToEnd({ root: (await setup()).root, mode: 'gc' });
    const left: number[] = [];
    for (let i = 0; i < KILLS; i++) {
      const { root, leased } = await setup();
      // stratified: kill i lands in the i-th slice of one GC's duration
      await killAt({ root, mode: 'gc' }, Math.floor(((i + Math.random()) * gcMs) / KILLS));
      const store = await Store.open(root, { fsync: false });
      expect(debris(root)).toEqual([]);
      expect(heldLocks(root)).toEqual([]);
      const valid = expectClosed(root);
      left.push(valid);
      for (const path of leased) expect(store.pathInfo(path), path).toBeDefined();
      const result = await store.gc();
      expect(result.deleted).toHaveLength(valid - kept);
      expect(expectClosed(root)).toBe(kept);
      expect(debris(root)).toEqual([]);
    }
    // the kills landed mid-collection: some paths gone, not all
    expect(left.some((n) => n > kept && n < COUNT), `paths left after each kill: ${left.join(', ')}`).toBe(true);
  }, 300_000);
});

describe('SIGKILL during lease renewals', () => {
  it('a lease renewed in a loop and killed at 20 random points is always whole: the old or the new roots', async () => {
    const root = scratch();
    const paths = writeSyntheticStore(root, 200, () => [], 'lease');
    const a = paths.slice(0, 150);
    const b = paths.slice(50);
    for (let i = 0; i < 20; i++) {
      await killAt({ root, mode: 'lease', id: 'pod', roots: [a, b] }, 20 + Math.floor(Math.random() * 150));
      const store = await Store.open(root, { fsync: false });
      expect(debris(root)).toEqual([]);
      const leases = readdirSync(join(root, 'roots', 'leases'));
      expect(leases).toEqual([`${Buffer.from('pod').toString('base64url')}.json`]);
      const lease = JSON.parse(readFileSync(join(root, 'roots', 'leases', leases[0] as string), 'utf8')) as { roots: string[] };
      expect([a, b]).toContainEqual(lease.roots);
      const result = await store.gc({ dryRun: true }); // every root readable
      expect(result.deleted.sort()).toEqual(paths.filter((x) => !lease.roots.includes(x)).sort());
    }
  }, 300_000);
});

describe('SIGKILL during profile builds', () => {
  let fx: NixFixtures;
  let cache: ServedCache;
  beforeAll(async () => {
    let options;
    ({ fx, cache, realiseOptions: options } = await servedFixtures('zstd'));
    root = scratch();
    await (await Store.open(root)).realise(Object.values(fx.storePaths), options);
  });
  afterAll(async () => {
    await cache.close();
  });
  let root: string;

  it('profiles built in a loop and killed at 12 random points are complete or absent, and GC works', async () => {
    let built = 0;
    for (let i = 0; i < 12; i++) {
      await killAt({ root, mode: 'profile', lockfile: fx.lockfile.path, system: 'x86_64-linux' }, 10 + Math.floor(Math.random() * 250));
      const store = await Store.open(root, { fsync: false });
      expect(debris(root)).toEqual([]);
      expect(readdirSync(join(root, 'roots', 'inflight'))).toEqual([]);
      const profiles = readdirSync(join(root, 'profiles'));
      for (const name of profiles) {
        const manifest = JSON.parse(readFileSync(join(root, 'profiles', name, '.flox-k8s', 'profile.json'), 'utf8')) as { closure: string[]; files: string[] };
        expect(manifest.closure).toEqual(fx.closure);
        for (const f of manifest.files) expect(existsSync(join(root, 'profiles', name, '.flox-k8s', f))).toBe(true);
      }
      built = profiles.length;
      // every root readable (no in-flight root of the killed build is left to protect anything)
      expect((await store.gc({ dryRun: true })).deleted.sort()).toEqual(fx.closure);
      expect((await store.verify()).ok).toBe(true);
    }
    expect(built).toBeGreaterThan(0);
    // and a real GC then takes the unprotected closure and the profiles built on it
    const result = await (await Store.open(root)).gc();
    expect(result.deleted.sort()).toEqual(fx.closure);
    expect(result.deletedProfiles).toHaveLength(built);
    expect(readdirSync(join(root, 'profiles'))).toEqual([]);
  }, 300_000);
});
