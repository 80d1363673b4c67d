import { execFileSync } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import {
  compareDebianVersions,
  inGeneration,
  parseMadison,
  selectContainerd,
  upstreamOf,
} from './containerd-generations.ts';

const fixture = (name: string): string => readFileSync(join(import.meta.dirname, '..', 'test', 'fixtures', 'apt', name), 'utf8');
const pick = (name: string, version: '1.7' | '2.1'): string => selectContainerd(parseMadison(fixture(name), 'containerd'), version).version;

describe('containerd generation selection from apt-cache madison', () => {
  it('takes trixie 1.7.24 and sid 2.1.9 from the output of 2026-12-03', () => {
    expect(parseMadison(fixture('madison-2026-12-03.txt'), 'containerd')).toEqual([
      { version: '2.1.9+ds1-5', suite: 'sid' },
      { version: '1.7.24~ds1-6+deb13u1', suite: 'trixie' },
    ]);
    expect(pick('madison-2026-12-03.txt', '1.7')).toBe('1.7.24~ds1-6+deb13u1');
    expect(pick('madison-2026-12-03.txt', '2.1')).toBe('2.1.9+ds1-5');
  });

  it('follows sid to the next 2.x and trixie to its point release', () => {
    expect(pick('madison-sid-moved-to-2.2.txt', '2.1')).toBe('2.2.1~ds1-1');
    expect(pick('madison-sid-moved-to-2.2.txt', '1.7')).toBe('1.7.28~ds1-1+deb13u2');
  });

  it('takes a 2.x pre-release when that is what sid carries, and ignores source rows', () => {
    expect(parseMadison(fixture('madison-sid-prerelease.txt'), 'containerd')).toHaveLength(2);
    expect(pick('madison-sid-prerelease.txt', '2.1')).toBe('2.2.0~rc.2+ds1-1');
  });

  it('fails with FLOXK8S_E2E_CONTAINERD_FETCH naming what the suites carry when no 2.x is there', () => {
    expect(pick('madison-sid-without-containerd.txt', '1.7')).toBe('1.7.24~ds1-6+deb13u1');
    expect(() => pick('madison-sid-without-containerd.txt', '2.1')).toThrow(
      expect.objectContaining({ code: 'FLOXK8S_E2E_CONTAINERD_FETCH', message: expect.stringContaining('1.7.24~ds1-6+deb13u1 (trixie)') }),
    );
  });

  it('asserts the generation on upstream versions, with or without a v', () => {
    expect(upstreamOf('1.7.24~ds1-6+deb13u1')).toBe('1.7.24');
    expect(upstreamOf('1:2.2.0~rc.2+ds1-1')).toBe('2.2.0');
    expect(inGeneration('2.1', 'v2.3.0')).toBe(true);
    expect(inGeneration('2.1', '1.7.24')).toBe(false);
    expect(inGeneration('1.7', '1.7.24~ds1')).toBe(true);
    expect(inGeneration('1.7', '1.70.0')).toBe(false);
    expect(inGeneration('1.6', '1.6.20~ds1')).toBe(true);
    expect(inGeneration('1.6', '2.1.9+unknown')).toBe(false);
  });

  it("orders Debian versions as dpkg --compare-versions does", () => {
    const versions = [
      '2.1.9+ds1-5', '2.2.0~rc.2+ds1-1', '2.2.0+ds1-1', '2.2.0-1', '2.2.0~ds1-1', '1:1.0-1', '1.7.24~ds1-6+deb13u1',
      '1.7.24~ds1-6', '1.7.24-1', '1.7.3~ds1-1', '1.7.24a-1', '1.7.24~~-1', '2.10.0-1', '2.9.0-1', '2.2', '2.2-0',
    ];
    const pairs = versions.flatMap((a) => versions.map((b) => [a, b] as const));
    // One shell for every pair: dpkg itself is the reference.
    const script = pairs
      .map(([a, b]) => `if dpkg --compare-versions '${a}' lt '${b}'; then echo -1; elif dpkg --compare-versions '${a}' eq '${b}'; then echo 0; else echo 1; fi`)
      .join('\n');
    const dpkg = execFileSync('sh', ['-c', script], { encoding: 'utf8' }).trim().split('\n');
    expect(pairs.map(([a, b]) => `${a} vs ${b}: ${Math.sign(compareDebianVersions(a, b))}`)).toEqual(
      pairs.map(([a, b], i) => `${a} vs ${b}: ${dpkg[i]}`),
    );
  });
});
