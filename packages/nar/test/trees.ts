import { chmod, mkdir, symlink, writeFile } from 'node:fs/promises';
import { join } from 'node:path';

/** A tree with every node kind and the sort-order traps Nix cares about. */
export async function makeTrapTree(root: string): Promise<void> {
  await mkdir(join(root, 'nested', 'deeper', 'deepest'), { recursive: true });
  await writeFile(join(root, 'a'), 'lower a\n');
  await writeFile(join(root, 'B'), 'upper B sorts before a\n');
  await writeFile(join(root, '_'), 'underscore');
  await writeFile(join(root, 'a.b'), 'dot sorts before letters');
  await writeFile(join(root, 'a-b'), 'dash sorts before dot');
  await writeFile(join(root, 'empty'), '');
  await writeFile(join(root, 'seven'), '1234567');
  await writeFile(join(root, 'eight'), '12345678');
  await writeFile(join(root, 'é-utf8'), 'non-ascii name');
  await writeFile(join(root, 'exe'), '#!/bin/sh\necho hi\n');
  await chmod(join(root, 'exe'), 0o755);
  await writeFile(join(root, 'owner-exec-only'), 'x');
  await chmod(join(root, 'owner-exec-only'), 0o700);
  await writeFile(join(root, 'group-exec-only'), 'x');
  await chmod(join(root, 'group-exec-only'), 0o654);
  await writeFile(join(root, 'l'.repeat(255)), 'a name of NAME_MAX bytes');
  await writeFile(join(root, 'nested', 'deeper', 'deepest', 'leaf'), Buffer.alloc(3 * 1024 * 1024 + 5, 7));
  await symlink('a', join(root, 'link'));
  await symlink('/nonexistent/target', join(root, 'dangling'));
  await symlink('nested/deeper', join(root, 'dirlink'));
  await mkdir(join(root, 'emptydir'));
}

