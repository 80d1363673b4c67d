import { execFileSync, spawn } from 'node:child_process';
import { existsSync, mkdirSync, readdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { dumpNar, hashNar } from '@flox-k8s/nar';
import type { ServedCache } from '@flox-k8s/nix-fixtures';
import { Store } from './store.ts';
import { processStartTime, selfOwner } from './process-owner.ts';
import { SyncBarrier } from './sync-barrier.ts';
import { cleanup, heldLocks, servedFixtures, tempDir } from '../test/helpers.ts';

/** A flush the test finishes by hand. */
function manualFlushes(): { flush: () => Promise<void>; started: number; finish: (err?: Error) => void } {
  const pending: Array<{ resolve: () => void; reject: (err: Error) => void }> = [];
  const state = {
    started: 0,
    flush: (): Promise<void> => {
      state.started++;
      return new Promise<void>((resolve, reject) => pending.push({ resolve, reject }));
    },
    finish: (err?: Error): void => {
      const p = pending.shift();
      if (p === undefined) throw new Error('no flush is running');
      if (err === undefined) p.resolve();
      else p.reject(err);
    },
  };
  return state;
}

const tick = (): Promise<void> => new Promise((resolve) => setImmediate(resolve));

/** Which of `promises` have settled, and how. */
function track(promises: Array<Promise<void>>): string[] {
  const states = promises.map(() => 'pending');
  promises.forEach((p, i) => {
    void p.then(
      () => (states[i] = 'ok'),
      (err: Error) => (states[i] = `failed: ${err.message}`),
    );
  });
  return states;
}

describe('SyncBarrier', () => {
  it('flushes once for every job holding a lock, after the last of them arrives', async () => {
    const f = manualFlushes();
    const barrier = new SyncBarrier(f.flush);
    for (let i = 0; i < 3; i++) barrier.hold();
    const states = track([barrier.arrive(), barrier.arrive()]);
    await tick();
    expect(f.started).toBe(0);
    const third = track([barrier.arrive()]);
    await tick();
    expect(f.started).toBe(1);
    expect([...states, ...third]).toEqual(['pending', 'pending', 'pending']);
    f.finish();
    await tick();
    expect([...states, ...third]).toEqual(['ok', 'ok', 'ok']);
    expect(barrier.flushes).toBe(1);
  });

  it('a job that ends without unpacking (present, failed) does not hold the others', async () => {
    const f = manualFlushes();
    const barrier = new SyncBarrier(f.flush);
    barrier.hold();
    barrier.hold();
    const states = track([barrier.arrive()]);
    await tick();
    expect(f.started).toBe(0);
    barrier.release();
    await tick();
    expect(f.started).toBe(1);
    f.finish();
    await tick();
    expect(states).toEqual(['ok']);
  });

  it('a job arriving while a flush runs waits for the next one, which starts after it', async () => {
    const f = manualFlushes();
    const barrier = new SyncBarrier(f.flush);
    barrier.hold();
    const first = track([barrier.arrive()]);
    await tick();
    expect(f.started).toBe(1);
    barrier.hold();
    const second = track([barrier.arrive()]);
    f.finish();
    await tick();
    expect(first).toEqual(['ok']);
    // Its files may have been written after the first flush began: only a new one covers them.
    expect(second).toEqual(['pending']);
    expect(f.started).toBe(2);
    f.finish();
    await tick();
    expect(second).toEqual(['ok']);
  });

  it('a failed flush fails every job of its group, and the next group flushes anew', async () => {
    const f = manualFlushes();
    const barrier = new SyncBarrier(f.flush);
    barrier.hold();
    barrier.hold();
    const group = track([barrier.arrive(), barrier.arrive()]);
    await tick();
    f.finish(new Error('EIO'));
    await tick();
    expect(group).toEqual(['failed: EIO', 'failed: EIO']);
    barrier.hold();
    const next = track([barrier.arrive()]);
    await tick();
    expect(f.started).toBe(2);
    f.finish();
    await tick();
    expect(next).toEqual(['ok']);
  });
});

describe("Store fsync: 'syncfs'", () => {
  const dirs: string[] = [];
  const caches: ServedCache[] = [];
  const path = process.env['PATH'];
  afterEach(async () => {
    process.env['PATH'] = path;
    for (const c of caches.splice(0)) await c.close();
    for (const d of dirs.splice(0)) cleanup(d);
  });

  /**
   * A `sync` first on PATH that logs its arguments and how many records and paths the store at
   * `root` holds when it is called, then runs the real one (or fails, with `fail`).
   */
  function syncOnPath(root: string, fail?: string): { log: string; calls: () => string[] } {
    const dir = tempDir('flox-store-sync-');
    dirs.push(dir);
    const bin = join(dir, 'bin');
    mkdirSync(bin);
    const log = join(dir, 'calls.log');
    const real = execFileSync('sh', ['-c', 'command -v sync'], { encoding: 'utf8' }).trim();
    const body = fail === undefined ? `exec ${real} "$@"` : `echo '${fail}' >&2\nexit 1`;
    const seen = `records=$(ls ${root}/meta | grep -c '\\.json$') paths=$(ls ${root}/store | wc -l)`;
    writeFileSync(join(bin, 'sync'), `#!/bin/sh\necho "$* ${seen}" >> ${log}\n${body}\n`, { mode: 0o755 });
    process.env['PATH'] = `${bin}:${path ?? ''}`;
    return { log, calls: () => (existsSync(log) ? readFileSync(log, 'utf8').split('\n').filter((l) => l !== '') : []) };
  }

  async function setup() {
    const served = await servedFixtures('zstd');
    caches.push(served.cache);
    const root = tempDir();
    dirs.push(root);
    return { ...served, root, store: await Store.open(root, { fsync: 'syncfs' }) };
  }

  it('realises the closure with one syncfs before any path is renamed into the store (records included) and one after, none per path', async () => {
    const { fx, store, realiseOptions } = await setup();
    const sync = syncOnPath(store.root);
    const seenAtRegistration: number[] = [];
    const result = await store.realise([fx.storePaths.script, fx.storePaths.tree], {
      ...realiseOptions,
      onProgress: (e) => {
        if (e.type === 'registered') seenAtRegistration.push(sync.calls().length);
      },
    });
    expect(result.fetched).toEqual(fx.closure);
    for (const p of fx.closure) {
      expect(store.pathInfo(p)?.narHash).toBe((await hashNar(dumpNar(p))).narHash);
      expect(await hashNar(dumpNar(store.hostPath(p)))).toEqual(await hashNar(dumpNar(p)));
    }
    // Every path waited for the flush of its tree and its record (all records written, no path in
    // the store yet); the second flush came after the last rename.
    expect(seenAtRegistration).toEqual(fx.closure.map(() => 1));
    const n = fx.closure.length;
    expect(sync.calls()).toEqual([`-f ${store.hostStoreDir} records=${n} paths=0`, `-f ${store.hostStoreDir} records=${n} paths=${n}`]);
    expect(readdirSync(join(store.root, 'tmp'))).toEqual([]);
    expect(heldLocks(store.root)).toEqual([]);
    // Warm: nothing fetched, nothing flushed.
    await store.realise([fx.storePaths.script, fx.storePaths.tree], realiseOptions);
    expect(sync.calls()).toHaveLength(2);
  });

  it('does not wait, to flush, for a path whose lock another process holds: that path joins a later group', async () => {
    const { fx, store, realiseOptions } = await setup();
    const sync = syncOnPath(store.root);
    // Another process holds the lock of `data` (which `script` references) and lives on.
    const holder = spawn('sleep', ['30'], { stdio: 'ignore' });
    const pid = holder.pid as number;
    for (let i = 0; i < 200 && processStartTime(pid) === undefined; i++) await new Promise((r) => setTimeout(r, 5));
    writeFileSync(join(store.root, 'locks', `${fx.storePaths.data.slice('/nix/store/'.length)}.lock`), JSON.stringify({ pid, start: processStartTime(pid), boot: selfOwner().boot }));
    const realised = store.realise([fx.storePaths.script, fx.storePaths.tree], realiseOptions);
    realised.catch(() => undefined);
    // The other paths flush while `data` is still locked (bounded: 10 s).
    for (let i = 0; i < 1_000 && sync.calls().length === 0; i++) await new Promise((r) => setTimeout(r, 10));
    expect(sync.calls()).toEqual([`-f ${store.hostStoreDir} records=${fx.closure.length - 1} paths=0`]);
    expect(store.pathInfo(fx.storePaths.data)).toBeUndefined();
    const exited = new Promise((r) => holder.on('exit', r));
    holder.kill('SIGKILL');
    await exited;
    const result = await realised;
    expect(result.fetched).toEqual(fx.closure);
    // data's own group, then the realise's last flush.
    expect(sync.calls()).toHaveLength(3);
    expect(sync.calls()[2]).toBe(`-f ${store.hostStoreDir} records=${fx.closure.length} paths=${fx.closure.length}`);
    expect(heldLocks(store.root)).toEqual([]);
  });

  it('a failing syncfs fails the realise with FLOXK8S_STORE_WRITE_FAILED and registers nothing', async () => {
    const { fx, store, realiseOptions } = await setup();
    const sync = syncOnPath(store.root, 'sync: error syncing: Input/output error');
    const error = await store.realise([fx.storePaths.script], realiseOptions).then(
      () => undefined,
      (err: unknown) => err,
    );
    expect(error).toMatchObject({ code: 'FLOXK8S_STORE_WRITE_FAILED', errno: 'EIO' });
    expect((error as Error).message).toContain('sync: error syncing: Input/output error');
    expect(sync.calls()).toEqual([expect.stringMatching(new RegExp(`^-f ${store.hostStoreDir} records=[1-9] paths=0$`))]);
    for (const p of fx.closure) expect(store.pathInfo(p)).toBeUndefined();
    expect(readdirSync(store.hostStoreDir)).toEqual([]);
    // The records written for that flush went with it: none outlives a path that never became visible.
    expect(readdirSync(join(store.root, 'meta')).filter((n) => n.endsWith('.json'))).toEqual([]);
    expect(readdirSync(join(store.root, 'tmp'))).toEqual([]);
    expect(heldLocks(store.root)).toEqual([]);
  });

  it('without a sync command on PATH the realise fails with ENOENT, naming it', async () => {
    const { fx, store, realiseOptions } = await setup();
    const empty = tempDir('flox-store-nopath-');
    dirs.push(empty);
    process.env['PATH'] = empty;
    const error = await store.realise([fx.storePaths.script], realiseOptions).then(
      () => undefined,
      (err: unknown) => err,
    );
    expect(error).toMatchObject({ code: 'FLOXK8S_STORE_WRITE_FAILED', errno: 'ENOENT' });
    expect((error as Error).message).toContain('sync -f');
    expect(readdirSync(store.hostStoreDir)).toEqual([]);
  });

  it('rejects an fsync option it does not know', async () => {
    const root = tempDir();
    dirs.push(root);
    await expect(Store.open(root, { fsync: 'sometimes' as unknown as boolean })).rejects.toMatchObject({ code: 'FLOXK8S_STORE_OPTIONS_INVALID' });
  });
});
