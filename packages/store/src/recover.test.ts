import { spawn } from 'node:child_process';
import { existsSync, mkdirSync, readdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { Store } from './store.ts';
import { isLocked, lock, lockOwner, tryLock, unlock } from './file-lock.ts';
import { processStartTime, selfOwner } from './process-owner.ts';
import { cleanup, fakeStorePath, placePath, tempDir } from '../test/helpers.ts';

const dirs: string[] = [];
afterEach(() => {
  for (const d of dirs.splice(0)) cleanup(d);
});

// A PID that cannot be running: above the kernel's pid_max.
const deadPid = Number(readFileSync('/proc/sys/kernel/pid_max', 'utf8')) + 1;

describe('Store.open recovery', () => {
  it("removes a dead process's temp dirs, locks, roots and orphan metadata, and leaves live work alone", async () => {
    const root = tempDir();
    dirs.push(root);
    await Store.open(root);
    const dead = { pid: deadPid, start: '1', boot: selfOwner().boot };
    const live = selfOwner();
    const deadTmp = join(root, 'tmp', `${deadPid}-1-abc`);
    mkdirSync(join(deadTmp, 'partial', 'bin'), { recursive: true });
    writeFileSync(join(deadTmp, 'partial', 'bin', 'x'), 'half');
    const liveTmp = join(root, 'tmp', `${live.pid}-${live.start}-xyz`);
    mkdirSync(liveTmp);
    const orphan = fakeStorePath('orphan');
    const orphanBase = orphan.slice(11);
    writeFileSync(join(root, 'locks', `${orphanBase}.lock`), JSON.stringify(dead));
    writeFileSync(join(root, 'meta', `${orphanBase}.json`), '{}');
    writeFileSync(join(root, 'meta', `.${orphanBase}.${deadPid}-1.tmp`), '{"half');
    writeFileSync(join(root, 'roots', 'inflight', `${deadPid}-1-7.json`), JSON.stringify({ paths: [orphan] }));
    writeFileSync(join(root, 'gc.lock'), JSON.stringify(dead));
    // a lock's temp file left by a process killed between writing and linking it
    writeFileSync(join(root, 'locks', `.${deadPid}-1-0a0b0c.tmp`), JSON.stringify(dead));
    await placePath(root, fakeStorePath('kept'));

    const store = await Store.open(root);
    expect(store.recovered).toEqual({ tempEntries: 3, staleLocks: 2, orphanMetadata: 1 });
    expect(existsSync(deadTmp)).toBe(false);
    expect(existsSync(liveTmp)).toBe(true);
    // only this process's own lock owner link (recovery locked the orphan's path to remove its record)
    expect(readdirSync(join(root, 'locks')).filter((n) => n !== `.${live.pid}-${live.start}-owner`)).toEqual([]);
    expect(readdirSync(join(root, 'meta'))).toEqual([`${fakeStorePath('kept').slice(11)}.json`]);
    expect(readdirSync(join(root, 'roots', 'inflight'))).toEqual([]);
    expect(existsSync(join(root, 'gc.lock'))).toBe(false);
    expect((await store.verify()).ok).toBe(true);
  });
});

describe('file locks', () => {
  it('a lock held by a live process blocks; once the holder dies it is broken', async () => {
    const root = tempDir();
    dirs.push(root);
    const file = join(root, 'x.lock');
    const holder = spawn('sleep', ['30'], { stdio: 'ignore' });
    const pid = holder.pid as number;
    for (let i = 0; i < 100 && processStartTime(pid) === undefined; i++) await new Promise((r) => setTimeout(r, 5));
    writeFileSync(file, JSON.stringify({ pid, start: processStartTime(pid), boot: selfOwner().boot }));
    expect(isLocked(file)).toBe(true);
    expect(tryLock(file)).toBe(false);
    await expect(lock(file, { what: 'x', timeoutMs: 50 })).rejects.toMatchObject({ code: 'FLOXK8S_STORE_LOCK_TIMEOUT' });
    const exited = new Promise((r) => holder.on('exit', r));
    holder.kill('SIGKILL');
    await exited;
    expect(isLocked(file)).toBe(false);
    expect(await lock(file, { what: 'x', timeoutMs: 1_000 })).toBe(true);
    expect(lockOwner(file)).toEqual(selfOwner());
    unlock(file);
    expect(existsSync(file)).toBe(false);
  });

  it('a lock recorded with a reused PID but another start time is stale', () => {
    const root = tempDir();
    dirs.push(root);
    const file = join(root, 'y.lock');
    writeFileSync(file, JSON.stringify({ pid: process.pid, start: '1', boot: selfOwner().boot }));
    expect(isLocked(file)).toBe(false);
    expect(tryLock(file)).toBe(true);
    unlock(file);
  });

  it('waiting can be aborted', async () => {
    const root = tempDir();
    dirs.push(root);
    const file = join(root, 'z.lock');
    expect(tryLock(file)).toBe(true);
    // our own lock, as another job of this process would see it
    await expect(lock(file, { what: 'z', signal: AbortSignal.timeout(30) })).rejects.toMatchObject({ code: 'FLOXK8S_STORE_ABORTED' });
    unlock(file);
  });
});
