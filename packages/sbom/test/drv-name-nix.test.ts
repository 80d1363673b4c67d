// parseDrvName against Nix itself: every store path name in the real Flox
// lockfiles (outputs and derivations), plus awkward ones, split by
// `builtins.parseDrvName` in one nix-instantiate call.
import { readFileSync, readdirSync } from 'node:fs';
import { nixSkipReason } from '@flox-k8s/nix-fixtures';
import { describe, expect, test } from 'vitest';
import { parseDrvName } from '../src/index.ts';
import { nixParseDrvNames } from './nix-path-info.ts';

const LOCKFILES = new URL('../../lockfile/test/fixtures/lockfiles/', import.meta.url);

function storeNames(): string[] {
  const names = new Set(['hello', 'a-', '-1.0', 'bash--1-2', 'xvidtune-?1-2', 'x-_y', 'gtk+3-3.24.4', 'foo-bar-baz', 'source']);
  for (const file of readdirSync(LOCKFILES).filter((f) => f.endsWith('.lock.json'))) {
    const text = readFileSync(new URL(file, LOCKFILES), 'utf8');
    for (const match of text.matchAll(/"\/nix\/store\/[0-9a-z]{32}-([A-Za-z0-9+\-._?=]+?)(?:\.drv)?"/g)) names.add(match[1]!);
  }
  return [...names].sort();
}

const skip = nixSkipReason();
describe.skipIf(skip !== undefined)(`parseDrvName agrees with Nix's builtins.parseDrvName${skip === undefined ? '' : ` (skipped: ${skip})`}`, () => {
  test('on every store path name of the real lockfiles', async () => {
    const names = storeNames();
    expect(names.length).toBeGreaterThan(140);
    const nix = await nixParseDrvNames(names);
    expect(names.map((n) => parseDrvName(n))).toEqual(nix);
  });
});
