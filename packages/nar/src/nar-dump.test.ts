import { randomBytes } from 'node:crypto';
import { chmod, mkdir, mkdtemp, rm, symlink, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { buffer } from 'node:stream/consumers';
import { nixFixtures } from '@flox-k8s/nix-fixtures';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { nixDump } from '../test/nix.ts';
import { makeTrapTree } from '../test/trees.ts';
import { nixHash } from '../test/nix.ts';
import { STREAM_CHUNK, dumpNar, dumpNarSync, hashPath } from './nar-dump.ts';

describe('dumpNar', () => {
  let tmp: string;
  beforeAll(async () => {
    tmp = await mkdtemp(join(tmpdir(), 'nar-dump-'));
  });
  afterAll(async () => {
    await rm(tmp, { recursive: true, force: true });
  });

  it('equals nix-store --dump on a tree with every node kind and sort traps', async () => {
    const root = join(tmp, 'trap');
    await mkdir(root);
    await makeTrapTree(root);
    const ours = await buffer(dumpNar(root));
    expect(ours.equals(nixDump(root))).toBe(true);
  });

  it('equals nix-store --dump on a lone file, an executable and a symlink', async () => {
    await writeFile(join(tmp, 'file'), 'just a file');
    await writeFile(join(tmp, 'exe'), 'exe');
    await chmod(join(tmp, 'exe'), 0o555);
    await symlink('somewhere', join(tmp, 'sym'));
    for (const name of ['file', 'exe', 'sym']) {
      expect((await buffer(dumpNar(join(tmp, name)))).equals(nixDump(join(tmp, name)))).toBe(true);
    }
  });

  it('equals nix-store --dump on every fixture store path', async () => {
    const fx = await nixFixtures();
    for (const path of fx.closure) {
      expect((await buffer(dumpNar(path))).equals(nixDump(path))).toBe(true);
    }
  });

  it('hands out chunks the consumer owns: keeping every chunk of a tree of big and small files gives nix-store --dump', async () => {
    const root = join(tmp, 'owned');
    await mkdir(join(root, 'd', 'e'), { recursive: true });
    // Random bytes, so that a chunk reused or overwritten after it was handed out shows.
    const big = [STREAM_CHUNK - 3, STREAM_CHUNK, STREAM_CHUNK + 5, 3 * STREAM_CHUNK + 1234];
    for (const [i, size] of big.entries()) await writeFile(join(root, i % 2 === 0 ? 'd' : 'd/e', `big${i}`), randomBytes(size));
    // Small files between the big ones, so that big files start at every offset in a chunk.
    for (let i = 0; i < 300; i++) await writeFile(join(root, i % 3 === 0 ? 'd' : 'd/e', `small${i}`), randomBytes((i * 37) % 5000));
    await writeFile(join(root, 'exe'), randomBytes(70_000));
    await chmod(join(root, 'exe'), 0o755);
    await symlink('d/big0', join(root, 'link'));
    const chunks: Buffer[] = [];
    const stream = dumpNar(root);
    stream.on('data', (chunk: Buffer) => chunks.push(chunk));
    await new Promise((resolve, reject) => stream.on('end', resolve).on('error', reject));
    const expected = nixDump(root);
    expect(expected.length).toBeGreaterThan(4 * STREAM_CHUNK);
    expect(Buffer.concat(chunks).equals(expected)).toBe(true);
    // No two chunks share memory, so a consumer may also keep or transfer one alone.
    expect(new Set(chunks.map((c) => c.buffer)).size).toBe(chunks.length);
  });

  it('dumpNarSync hands out the same bytes as nix-store --dump, and hashPath hashes them as Nix does', async () => {
    const fx = await nixFixtures();
    const root = join(tmp, 'sync');
    await mkdir(root);
    await makeTrapTree(root);
    // A file spanning several 64 KiB chunks, starting mid-chunk.
    await writeFile(join(root, 'big'), Buffer.alloc(200_000, 7));
    for (const path of [root, ...fx.closure]) {
      const parts: Buffer[] = [];
      dumpNarSync(path, (chunk) => parts.push(Buffer.from(chunk)));
      const expected = nixDump(path);
      expect(Buffer.concat(parts).equals(expected)).toBe(true);
      expect(hashPath(path)).toEqual({ narHash: `sha256:${nixHash('--type', 'sha256', '--base32', path)}`, narSize: expected.length });
    }
  });

  it('rejects a fifo with FLOXK8S_NAR_UNSUPPORTED_FILE', async () => {
    const { execFileSync } = await import('node:child_process');
    const dir = join(tmp, 'withfifo');
    await mkdir(dir);
    execFileSync('mkfifo', [join(dir, 'pipe')]);
    await expect(buffer(dumpNar(dir))).rejects.toMatchObject({ code: 'FLOXK8S_NAR_UNSUPPORTED_FILE' });
    expect(() => dumpNarSync(dir, () => undefined)).toThrow(expect.objectContaining({ code: 'FLOXK8S_NAR_UNSUPPORTED_FILE' }));
  });
});
