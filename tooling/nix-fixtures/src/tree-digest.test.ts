import { chmod, mkdir, mkdtemp, rm, symlink, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { treeDigest } from './tree-digest.ts';

let dir: string;
beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), 'flox-tree-digest-'));
});
afterAll(async () => {
  await rm(dir, { recursive: true, force: true });
});

describe('treeDigest', () => {
  it('changes with any byte, mode, link target or new entry, and only then', async () => {
    const root = join(dir, 'tree');
    await mkdir(join(root, 'a', 'b'), { recursive: true });
    await writeFile(join(root, 'a', 'b', 'f'), 'one');
    await symlink('b/f', join(root, 'a', 'l'));
    const first = await treeDigest(root);
    expect(await treeDigest(root)).toBe(first);
    const changes: Array<() => Promise<void>> = [
      () => writeFile(join(root, 'a', 'b', 'f'), 'two'),
      () => chmod(join(root, 'a', 'b', 'f'), 0o600),
      async () => {
        await rm(join(root, 'a', 'l'));
        await symlink('b/g', join(root, 'a', 'l'));
      },
      () => mkdir(join(root, 'a', 'new')),
    ];
    const seen = new Set([first]);
    for (const change of changes) {
      await change();
      const digest = await treeDigest(root);
      expect(seen.has(digest)).toBe(false);
      seen.add(digest);
    }
  });
});
