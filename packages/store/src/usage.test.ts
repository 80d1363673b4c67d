import { rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { Store } from './store.ts';
import { cleanup, fakeStorePath, placePath, tempDir } from '../test/helpers.ts';

const dirs: string[] = [];
afterEach(() => {
  for (const d of dirs.splice(0)) cleanup(d);
});

describe('store.usage', () => {
  it('counts the valid paths and sums their NarSize; a record without its path, or a path without its record, is not counted', async () => {
    const root = tempDir();
    dirs.push(root);
    const store = await Store.open(root);
    expect(store.usage()).toEqual({ paths: 0, narBytes: 0 });
    const [glibc, lib, app] = ['glibc', 'lib', 'app'].map((n) => fakeStorePath(n)) as [string, string, string];
    for (const [i, path] of [glibc, lib, app].entries()) await placePath(root, path, { size: 1000 * (i + 1) });
    const size = (path: string): number => store.pathInfo(path)!.narSize;
    const narBytes = size(glibc) + size(lib) + size(app);
    expect(narBytes).toBeGreaterThan(6000);
    expect(store.usage()).toEqual({ paths: 3, narBytes });

    // Another process collected `lib` (its directory goes first, its record after), and a
    // download left a directory that was never registered.
    const libBytes = size(lib);
    rmSync(store.hostPath(lib), { recursive: true });
    writeFileSync(join(store.hostStoreDir, fakeStorePath('unregistered').slice('/nix/store/'.length)), 'x');
    expect(store.usage()).toEqual({ paths: 2, narBytes: narBytes - libBytes });
  });
});
