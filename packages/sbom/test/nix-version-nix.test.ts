// compareVersions against Nix itself: every pair of versions that the real Flox
// lockfiles name (their `version` fields and the versions Nix splits off their store
// path names), plus awkward ones, ordered by `builtins.compareVersions` in one
// nix-instantiate call.
import { readFileSync, readdirSync } from 'node:fs';
import { nixSkipReason } from '@flox-k8s/nix-fixtures';
import { describe, expect, test } from 'vitest';
import { compareVersions, parseDrvName } from '../src/index.ts';
import { nixCompareVersions } from './nix-path-info.ts';

const LOCKFILES = new URL('../../lockfile/test/fixtures/lockfiles/', import.meta.url);
const AWKWARD = ['', '1', '1.0', '1.0.0', '1.0pre', '1.0pre1', 'pre', '2.3a', '2.3.1', '1-rc1', '1.0-rc2', '0.0.0-unstable-2024-01-02', '2147483647', '2147483648', '99999999999999999999', '007', '1..2', 'a', 'B', 'Z1', '1.2.3+4'];

function versions(): string[] {
  const found = new Set(AWKWARD);
  for (const file of readdirSync(LOCKFILES).filter((f) => f.endsWith('.lock.json'))) {
    const text = readFileSync(new URL(file, LOCKFILES), 'utf8');
    for (const match of text.matchAll(/"version":\s*"([^"]{1,60})"/g)) found.add(match[1]!);
    for (const match of text.matchAll(/"\/nix\/store\/[0-9a-z]{32}-([A-Za-z0-9+\-._?=]+?)(?:\.drv)?"/g)) found.add(parseDrvName(match[1]!).version);
  }
  return [...found].sort();
}

const skip = nixSkipReason();
describe.skipIf(skip !== undefined)(`compareVersions agrees with Nix's builtins.compareVersions${skip === undefined ? '' : ` (skipped: ${skip})`}`, () => {
  test('on every pair of versions of the real lockfiles', async () => {
    const all = versions();
    expect(all.length).toBeGreaterThan(80);
    // Every version against a sample of the others keeps the Nix call small: each
    // version meets the awkward ones and its neighbours in sorted order.
    const pairs: Array<[string, string]> = [];
    all.forEach((v, i) => {
      for (const w of [...AWKWARD, all[i + 1], all[i + 7], all[(i * 31) % all.length]]) if (w !== undefined) pairs.push([v, w]);
    });
    expect(pairs.length).toBeGreaterThan(2000);
    const nix = await nixCompareVersions(pairs);
    expect(pairs.map(([a, b]) => compareVersions(a, b))).toEqual(nix);
  }, 120_000);
});
