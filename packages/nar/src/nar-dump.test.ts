import { chmod, mkdir, mkdtemp, rm, symlink, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { buffer } from 'node:stream/consumers';
import { nixFixtures } from '@flox-k8s/nix-fixtures';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { nixDump } from '../test/nix.ts';
import { makeTrapTree } from '../test/trees.ts';
import { nixHash } from '../test/nix.ts';
import { dumpNar, dumpNarSync, hashPath } from './nar-dump.ts';

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
