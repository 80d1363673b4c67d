// Reply and request FIFOs made in process (mkfifo(3) through koffi) or by a `mkfifo` process.
import { lstatSync, mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { REPLIES_DIR } from '@flox-k8s/agent-protocol';
import { ensureFifo, libcMkfifo, makeFifos } from './fifo.ts';
import { ReplyPool } from './pool.ts';

let dir: string;
let path: string | undefined;
beforeEach(() => {
  dir = mkdtempSync(join(tmpdir(), 'flox-fifo-'));
  path = process.env['PATH'];
});
afterEach(() => {
  process.env['PATH'] = path;
  rmSync(dir, { recursive: true, force: true });
});

/** No program named mkfifo can run: only mkfifo(3) makes FIFOs. */
function withoutMkfifoProgram(): void {
  const empty = join(dir, 'empty-bin');
  mkdirSync(empty);
  process.env['PATH'] = empty;
}

const fifoMode = (p: string): { fifo: boolean; mode: number } => {
  const stat = lstatSync(p);
  return { fifo: stat.isFIFO(), mode: stat.mode & 0o777 };
};

describe('mkfifo(3) through koffi', () => {
  it('loads here (glibc, koffi installed), as on the node agent', () => {
    expect(libcMkfifo()).not.toBeInstanceOf(Error);
  });

  it('makes FIFOs of mode 0600 with no mkfifo program to run', async () => {
    withoutMkfifoProgram();
    const paths = ['a', 'b', 'c'].map((n) => join(dir, n));
    expect(await makeFifos(paths, undefined)).toBeUndefined();
    for (const p of paths) expect(fifoMode(p)).toEqual({ fifo: true, mode: 0o600 });
  });

  it('makes what it can and returns the first failure with its errno code', async () => {
    withoutMkfifoProgram();
    writeFileSync(join(dir, 'taken'), 'x');
    const error = await makeFifos([join(dir, 'one'), join(dir, 'taken'), join(dir, 'no', 'such'), join(dir, 'two')], undefined);
    expect(error).toMatchObject({ code: 'EEXIST', path: join(dir, 'taken') });
    expect(fifoMode(join(dir, 'one')).fifo).toBe(true);
    expect(fifoMode(join(dir, 'two')).fifo).toBe(true);
    expect(lstatSync(join(dir, 'taken')).isFile()).toBe(true);
  });

  it('ensureFifo replaces what is not a FIFO and keeps a FIFO that is there', () => {
    withoutMkfifoProgram();
    const at = join(dir, 'requests');
    writeFileSync(at, 'not a fifo');
    const made = ensureFifo(at, undefined);
    expect(fifoMode(at)).toEqual({ fifo: true, mode: 0o600 });
    expect(ensureFifo(at, undefined).ino).toBe(made.ino);
  });

  it('a reply pool refills without a child process', async () => {
    withoutMkfifoProgram();
    mkdirSync(join(dir, REPLIES_DIR));
    const errors: unknown[] = [];
    const pool = new ReplyPool({ dir, mkfifo: undefined, size: 4, onError: (e) => errors.push(e) });
    await pool.refill();
    expect(errors).toEqual([]);
    expect(pool.names()).toHaveLength(4);
    for (const name of pool.names()) expect(fifoMode(join(dir, REPLIES_DIR, name)).fifo).toBe(true);
    await pool.drain();
  });
});

describe('a mkfifo command', () => {
  it('is run when named, and its failure comes back', async () => {
    withoutMkfifoProgram();
    expect(await makeFifos([join(dir, 'x')], '/usr/bin/mkfifo')).toBeUndefined();
    expect(fifoMode(join(dir, 'x'))).toEqual({ fifo: true, mode: 0o600 });
    const error = await makeFifos([join(dir, 'y')], join(dir, 'no-such-mkfifo'));
    expect(error).toMatchObject({ code: 'ENOENT' });
    expect(() => ensureFifo(join(dir, 'z'), join(dir, 'no-such-mkfifo'))).toThrow(/cannot make the FIFO .*z with .*no-such-mkfifo/);
  });
});
