import { mkdtemp, rm, writeFile, readFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { withFileLock } from './lock.ts';

describe('withFileLock', () => {
  let dir = '';
  afterEach(async () => {
    await rm(dir, { recursive: true, force: true });
  });

  it('serialises holders and takes over a lock whose holder PID is gone', async () => {
    dir = await mkdtemp(join(tmpdir(), 'flox-lock-'));
    const lock = join(dir, 'x.lock');
    await writeFile(lock, '2147483646'); // no such PID
    const order: string[] = [];
    await Promise.all([
      withFileLock(lock, 5_000, async () => {
        order.push('a-in');
        await new Promise((r) => setTimeout(r, 300));
        order.push('a-out');
      }),
      new Promise((r) => setTimeout(r, 50)).then(() => withFileLock(lock, 5_000, async () => void order.push('b'))),
    ]);
    expect(order).toEqual(['a-in', 'a-out', 'b']);
    await expect(readFile(lock)).rejects.toMatchObject({ code: 'ENOENT' });
  });

  it('gives up after the wait with FLOXK8S_E2E_TIMEOUT while the holder lives', async () => {
    dir = await mkdtemp(join(tmpdir(), 'flox-lock-'));
    const lock = join(dir, 'x.lock');
    await writeFile(lock, String(process.pid));
    await expect(withFileLock(lock, 300, async () => undefined)).rejects.toMatchObject({ code: 'FLOXK8S_E2E_TIMEOUT' });
  });
});
