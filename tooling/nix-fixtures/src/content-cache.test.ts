import { spawn } from 'node:child_process';
import { mkdir, readdir, readFile, writeFile } from 'node:fs/promises';
import { hostname } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { contentCached } from './content-cache.ts';
import { FixtureLockTimeoutError } from './errors.ts';
import { tempDir } from './test-nix.ts';

describe('contentCached', () => {
  let work: { dir: string; cleanup: () => Promise<void> };
  beforeEach(async () => {
    work = await tempDir('content-cache');
  });
  afterEach(() => work.cleanup());

  function spec(builds: string[], options: { lockWaitMs?: number } = {}) {
    return {
      base: work.dir,
      key: 'k1',
      ...options,
      load: async (dir: string) => readFile(join(dir, 'value'), 'utf8').catch(() => undefined),
      build: async (tmpDir: string) => {
        builds.push(tmpDir);
        await new Promise((done) => setTimeout(done, 50));
        await writeFile(join(tmpDir, 'value'), `built ${builds.length}`);
      },
    };
  }

  it('builds once for concurrent callers and leaves only the finished directory', async () => {
    const builds: string[] = [];
    const results = await Promise.all(Array.from({ length: 6 }, () => contentCached(spec(builds))));
    expect(results).toEqual(Array(6).fill('built 1'));
    expect(builds).toHaveLength(1);
    expect(await readdir(work.dir)).toEqual(['k1']);
    expect(await contentCached(spec(builds))).toBe('built 1');
    expect(builds).toHaveLength(1);
  });

  it('rebuilds in place when load says the directory is stale (e.g. its store paths were collected)', async () => {
    const builds: string[] = [];
    await contentCached(spec(builds));
    await writeFile(join(work.dir, 'k1', 'value'), 'stale');
    const stale = spec(builds);
    const load = async (dir: string) => {
      const value = await stale.load(dir);
      return value === 'stale' ? undefined : value;
    };
    expect(await contentCached({ ...stale, load })).toBe('built 2');
    expect(builds).toHaveLength(2);
    expect(await readdir(work.dir)).toEqual(['k1']);
  });

  it('removes a failed build and releases the lock', async () => {
    const failing = { ...spec([]), build: async () => Promise.reject(new Error('boom')) };
    await expect(contentCached(failing)).rejects.toThrow('boom');
    expect(await readdir(work.dir)).toEqual([]);
    expect(await contentCached(spec([]))).toBe('built 1');
  });

  it('breaks the lock of a holder that died, and times out on a live one', async () => {
    const dead = spawn(process.execPath, ['-e', '']);
    const deadPid = await new Promise<number>((done) => dead.on('exit', () => done(dead.pid ?? 0)));
    await writeFile(join(work.dir, 'k1.lock'), `${deadPid}@${hostname()}`);
    await mkdir(join(work.dir, `.tmp-k1-${deadPid}-abcd`));
    expect(await contentCached(spec([]))).toBe('built 1');
    expect(await readdir(work.dir)).toEqual(['k1']); // the dead build's temp dir is gone too

    const other = { ...spec([], { lockWaitMs: 300 }), key: 'k2' };
    await writeFile(join(work.dir, 'k2.lock'), `${process.pid}@${hostname()}`);
    const error = await contentCached(other).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(FixtureLockTimeoutError);
    expect((error as FixtureLockTimeoutError).code).toBe('FLOXK8S_FIXTURE_LOCK_TIMEOUT');
  });
});
