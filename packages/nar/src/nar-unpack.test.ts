import { lstat, mkdir, mkdtemp, readdir, readlink, rm, symlink } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Readable } from 'node:stream';
import { nixFixtures } from '@flox-k8s/nix-fixtures';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { nixDump, nixHash } from '../test/nix.ts';
import { makeTrapTree } from '../test/trees.ts';
import { hashNar, unpackNar } from './nar-unpack.ts';
import { removeTree } from './remove-tree.ts';
import { narOf, type NarNode } from '@flox-k8s/hostile-nars';

/** Feed bytes in chunks of `size` (1 byte stresses every token boundary). */
function chunked(bytes: Buffer, size: number): AsyncIterable<Uint8Array> {
  return (async function* () {
    for (let i = 0; i < bytes.length; i += size) yield bytes.subarray(i, i + size);
  })();
}

describe('unpackNar', () => {
  let tmp: string;
  beforeAll(async () => {
    tmp = await mkdtemp(join(tmpdir(), 'nar-unpack-'));
  });
  afterAll(async () => {
    await removeTree(tmp);
  });

  it('reproduces nix-store --dump output exactly, with Nix hash and size, whatever the chunking', async () => {
    const fx = await nixFixtures();
    const trap = join(tmp, 'trap');
    await mkdir(trap);
    await makeTrapTree(trap);
    for (const path of [...fx.closure, trap]) {
      const nar = nixDump(path);
      const expectedHash = `sha256:${nixHash('--type', 'sha256', '--base32', path)}`;
      for (const size of [1, 7, 4096, 1 << 20]) {
        // Tiny chunks cost one write per chunk: keep them to the small archives.
        if (size < 4096 && nar.length > 100_000) continue;
        const dest = join(tmp, `out-${size}-${path.split('/').pop()}`);
        const result = await unpackNar(chunked(nar, size), dest);
        expect(result).toEqual({ narHash: expectedHash, narSize: nar.length });
        expect(nixDump(dest).equals(nar)).toBe(true);
        await removeTree(dest);
      }
    }
  });

  it('writes files 0444/0555, directories 0555 and mtime 1 everywhere', async () => {
    const dest = join(tmp, 'modes');
    const nar = narOf({
      type: 'directory',
      entries: [
        ['dir', { type: 'directory', entries: [['f', { type: 'regular', contents: 'x' }]] }],
        ['exe', { type: 'regular', contents: '#!', executable: true }],
        ['file', { type: 'regular', contents: 'data' }],
        ['link', { type: 'symlink', target: '/etc/passwd' }],
      ],
    });
    await unpackNar(Readable.from([nar]), dest);
    const mode = async (p: string): Promise<number> => (await lstat(join(dest, p))).mode & 0o7777;
    expect(await mode('')).toBe(0o555);
    expect(await mode('dir')).toBe(0o555);
    expect(await mode('dir/f')).toBe(0o444);
    expect(await mode('exe')).toBe(0o555);
    expect(await mode('file')).toBe(0o444);
    expect(await readlink(join(dest, 'link'))).toBe('/etc/passwd');
    for (const p of ['', 'dir', 'dir/f', 'exe', 'file', 'link']) expect((await lstat(join(dest, p))).mtimeMs).toBe(1000);
    await removeTree(dest);
  });

  it('hashNar agrees with nix-hash without writing anything', async () => {
    const fx = await nixFixtures();
    const nar = nixDump(fx.storePaths.busybox);
    expect(await hashNar(Readable.from([nar]))).toEqual({
      narHash: `sha256:${nixHash('--type', 'sha256', '--base32', fx.storePaths.busybox)}`,
      narSize: nar.length,
    });
  });

  it('refuses an existing destination, even a symlink to a directory, and leaves it alone', async () => {
    const target = join(tmp, 'victim');
    await mkdir(target);
    const dest = join(tmp, 'planted');
    await symlink(target, dest);
    const nar = narOf({ type: 'directory', entries: [['evil', { type: 'regular', contents: 'x' }]] });
    await expect(unpackNar(Readable.from([nar]), dest)).rejects.toMatchObject({ code: 'FLOXK8S_NAR_DESTINATION' });
    expect(await readdir(target)).toEqual([]);
    expect(await readlink(dest)).toBe(target);
    await rm(dest);
  });

  it('aborts through the signal and removes dest', async () => {
    const ac = new AbortController();
    const dest = join(tmp, 'aborted');
    const source = (async function* () {
      yield narOf({ type: 'regular', contents: 'x' }).subarray(0, 40);
      ac.abort();
      yield Buffer.alloc(8);
    })();
    await expect(unpackNar(source, dest, { signal: ac.signal })).rejects.toMatchObject({ code: 'FLOXK8S_ABORTED' });
    await expect(lstat(dest)).rejects.toMatchObject({ code: 'ENOENT' });
  });

  it('round-trips entry names that are not valid UTF-8, and removeTree deletes them', async () => {
    const dest = join(tmp, 'latin1');
    const nar = narOf({
      type: 'directory',
      entries: [
        [Buffer.from([0x61, 0xff]), { type: 'regular', contents: 'x' }],
        [Buffer.from([0xc3, 0x28]), { type: 'directory', entries: [[Buffer.from([0xfe]), { type: 'symlink', target: 'y' }]] }],
      ].sort((a, b) => Buffer.compare(a[0] as Buffer, b[0] as Buffer)) as Array<[Buffer, NarNode]>,
    });
    const result = await unpackNar(Readable.from([nar]), dest);
    expect(result.narSize).toBe(nar.length);
    expect(nixDump(dest).equals(nar)).toBe(true);
    await removeTree(dest);
    await expect(lstat(dest)).rejects.toMatchObject({ code: 'ENOENT' });
  });
});
