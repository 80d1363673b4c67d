import { chmodSync, mkdirSync, renameSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterEach, expect, it } from 'vitest';
import { Store } from './store.ts';
import { cleanup, fakeStorePath, placePath, tempDir } from '../test/helpers.ts';

const dirs: string[] = [];
afterEach(() => {
  for (const d of dirs.splice(0)) cleanup(d);
});

it('verify re-hashes every path against its NarHash and reports corruption, missing references and strays', async () => {
  const root = tempDir();
  dirs.push(root);
  const store = await Store.open(root);
  const [a, b, c] = [fakeStorePath('a'), fakeStorePath('b'), fakeStorePath('c')];
  await placePath(root, a);
  await placePath(root, b, { references: [a] });
  await placePath(root, c);
  const clean = await store.verify();
  expect(clean).toEqual({ ok: true, checked: 3, corrupt: [], incomplete: [], unregistered: [] });

  // flip the content of c's file (same size): only the hash can tell
  const file = join(store.hostPath(c), 'file');
  chmodSync(file, 0o644);
  writeFileSync(file, Buffer.alloc(16, 'x'));
  // a disappears behind the store's back: b is now incomplete
  renameSync(store.hostPath(a), join(root, 'tmp', 'gone'));
  // a directory nobody registered
  mkdirSync(join(root, 'store', `${fakeStorePath('stray').slice(11)}`));

  const bad = await store.verify();
  expect(bad.ok).toBe(false);
  expect(bad.checked).toBe(2);
  expect(bad.corrupt).toEqual([
    { storePath: c, expected: { narHash: expect.stringMatching(/^sha256:/), narSize: expect.any(Number) }, actual: expect.objectContaining({ narSize: expect.any(Number) }) },
  ]);
  expect(bad.corrupt[0]?.actual.narHash).not.toBe(bad.corrupt[0]?.expected.narHash);
  expect(bad.incomplete).toEqual([{ storePath: b, missing: [a] }]);
  expect(bad.unregistered).toEqual([fakeStorePath('stray').slice(11)]);
});
