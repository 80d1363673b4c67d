import { describe, expect, it } from 'vitest';
import { compareVersions, versionComponents } from './nix-version.ts';
import { packageMatcher } from './package-selector.ts';
import { parseVersionRange, versionInRange } from './version-range.ts';

describe('compareVersions (Nix order)', () => {
  it.each([
    ['1.0', '1.0.0', -1],
    ['1.0pre', '1.0', -1],
    ['1.0', '1.0pre', 1],
    ['2.3a', '2.3.1', -1],
    ['1.0-rc1', '1.0', 1],
    ['3.0.9', '3.0.14', -1],
    ['1.1.1w', '3.0', -1],
    ['2.40-66-bin', '2.40-66', 1],
    ['a', 'B', 1],
    ['', '1', -1],
    ['1.0', '1.0', 0],
    ['1-0', '1.0', 0],
    // Past a C int a digit run is a word, and a word sorts below any number.
    ['1', '2147483648', 1],
    ['2147483647', '2147483646', 1],
  ] as const)('%s vs %s → %i', (a, b, expected) => {
    expect(compareVersions(a, b)).toBe(expected);
    expect(compareVersions(b, a)).toBe(expected === 0 ? 0 : -expected);
  });

  it('splits like nextComponent', () => {
    expect(versionComponents('1.2pre-3..x7')).toEqual(['1', '2', 'pre', '3', 'x', '7']);
    expect(versionComponents('-.')).toEqual([]);
  });
});

describe('version ranges', () => {
  it('parses comparators, sets and alternatives', () => {
    expect(parseVersionRange(' >= 3.0, <3.0.14 || =1.1.1w ')).toEqual({
      text: '>= 3.0, <3.0.14 || =1.1.1w',
      sets: [
        [{ op: '>=', version: '3.0' }, { op: '<', version: '3.0.14' }],
        [{ op: '=', version: '1.1.1w' }],
      ],
    });
    expect(parseVersionRange('1.2.3').sets).toEqual([[{ op: '=', version: '1.2.3' }]]);
    expect(parseVersionRange('==1.2').sets).toEqual([[{ op: '=', version: '1.2' }]]);
    expect(parseVersionRange('*').sets).toEqual([[]]);
  });

  it.each(['>=', '<1 ||', '|| 1', '1 * 2', '=>1', '~1.2', '^1', 'a'.repeat(1100)])('rejects %j with a code', (bad) => {
    expect(() => parseVersionRange(bad)).toThrow(expect.objectContaining({ code: 'FLOXK8S_SBOM_VERSION_RANGE_INVALID' }));
  });

  it('matches in Nix order, where semver would not', () => {
    expect(versionInRange('3.0.13', '>=3.0 <3.0.14')).toBe(true);
    expect(versionInRange('3.0.14', '>=3.0 <3.0.14')).toBe(false);
    expect(versionInRange('3.0pre', '>=3.0')).toBe(false);
    expect(versionInRange('2.40-66-bin', '>2.40')).toBe(true);
    expect(versionInRange('1.1.1w', '<3 || =3.0.0')).toBe(true);
    expect(versionInRange('3.0.0', '<3 || =3.0.0')).toBe(true);
    expect(versionInRange('3.0.1', '<3 || =3.0.0')).toBe(false);
    expect(versionInRange('5.6.1', '!=5.6.0')).toBe(true);
  });

  it('an empty version lies only in "*"', () => {
    expect(versionInRange('', '<3')).toBe(false);
    expect(versionInRange('', '*')).toBe(true);
  });
});

describe('packageMatcher', () => {
  const xz = { storePath: '/nix/store/0123456789abcdfghijklmnpqrsvwxyz-xz-5.6.0', name: 'xz', version: '5.6.0' };

  it('by name and range', () => {
    expect(packageMatcher({ name: 'xz', versions: '>=5.6.0 <=5.6.1' }).matches(xz)).toBe(true);
    expect(packageMatcher({ name: 'xz', versions: '<5.6' }).matches(xz)).toBe(false);
    expect(packageMatcher({ name: 'xz' }).matches(xz)).toBe(true);
    expect(packageMatcher({ name: 'xz' }).text).toBe('xz (any version)');
    expect(packageMatcher({ name: 'xz', versions: '>=5.6.0' }).text).toBe('xz >=5.6.0');
    expect(packageMatcher({ name: 'xz-utils' }).matches(xz)).toBe(false);
  });

  it('by store path, full or basename', () => {
    expect(packageMatcher({ storePath: xz.storePath }).matches(xz)).toBe(true);
    expect(packageMatcher({ storePath: '0123456789abcdfghijklmnpqrsvwxyz-xz-5.6.0' }).matches(xz)).toBe(true);
    expect(packageMatcher({ storePath: '/nix/store/0123456789abcdfghijklmnpqrsvwxyz-xz-5.6.1' }).matches(xz)).toBe(false);
  });

  it.each([
    [{ storePath: '/etc/passwd' }],
    [{ name: '' }],
    [{ name: 'a b' }],
    [{ name: 'x', storePath: '/nix/store/0123456789abcdfghijklmnpqrsvwxyz-xz' }],
    [null],
  ])('rejects %j with a code', (bad) => {
    expect(() => packageMatcher(bad as never)).toThrow(expect.objectContaining({ code: 'FLOXK8S_SBOM_PACKAGE_SELECTOR_INVALID' }));
  });
});
