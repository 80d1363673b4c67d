import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { STORE_PATH_PATTERN, isStorePath, parseStorePath, parseStorePathBase, storePathProblem } from './store-path.ts';

const HASH = 'ssklkd62lq1nf85a4g28682cyfhlxf0x';

describe('parseStorePath', () => {
  it('splits a store path into hash, name and base', () => {
    expect(parseStorePath(`/nix/store/${HASH}-flox-fixture-busybox-1.0`)).toEqual({
      storeDir: '/nix/store',
      hash: HASH,
      name: 'flox-fixture-busybox-1.0',
      path: `/nix/store/${HASH}-flox-fixture-busybox-1.0`,
      base: `${HASH}-flox-fixture-busybox-1.0`,
    });
  });

  it('honours another store directory', () => {
    expect(parseStorePath(`/opt/store/${HASH}-x`, '/opt/store').hash).toBe(HASH);
    expect(isStorePath(`/opt/store/${HASH}-x`, '/opt/store')).toBe(true);
    expect(isStorePath(`/nix/store/${HASH}-x`, '/opt/store')).toBe(false);
  });

  it.each([
    ['outside the store', '/usr/bin/sh'],
    ['a path inside a store path', `/nix/store/${HASH}-busybox/bin/sh`],
    ['a short hash', '/nix/store/ssklkd62lq1nf85a4g28682cyfhlxf0-busybox'],
    ['a hash with e/o/u/t', '/nix/store/esklkd62lq1nf85a4g28682cyfhlxf0x-busybox'],
    ['an upper-case hash', '/nix/store/SSKLKD62LQ1NF85A4G28682CYFHLXF0X-busybox'],
    ['no dash after the hash', `/nix/store/${HASH}_busybox`],
    ['no name', `/nix/store/${HASH}-`],
    ['a forbidden character', `/nix/store/${HASH}-bu$ybox`],
    ['a space', `/nix/store/${HASH}-bu sybox`],
    ['the name .', `/nix/store/${HASH}-.`],
    ['the name ..', `/nix/store/${HASH}-..`],
    ['a name starting with .-', `/nix/store/${HASH}-.-x`],
    ['a name starting with ..-', `/nix/store/${HASH}-..-x`],
    ['a 212-character name', `/nix/store/${HASH}-${'a'.repeat(212)}`],
  ])('rejects %s with FLOXK8S_STORE_PATH_INVALID, and the predicate agrees', (_why, path) => {
    expect(() => parseStorePath(path)).toThrow(expect.objectContaining({ code: 'FLOXK8S_STORE_PATH_INVALID' }));
    expect(isStorePath(path)).toBe(false);
    expect(storePathProblem(path)).toEqual(expect.any(String));
  });

  it.each([
    ['a name starting with a period (Nix >= 2.20)', `.bashrc`],
    ['a name starting with ..', `..foo`],
    ['a name starting with .x-', `.x-1`],
    ['every allowed character', 'aZ09+-._?='],
    ['a 211-character name', 'a'.repeat(211)],
  ])('accepts %s', (_why, name) => {
    const path = `/nix/store/${HASH}-${name}`;
    expect(parseStorePath(path).name).toBe(name);
    expect(isStorePath(path)).toBe(true);
    expect(storePathProblem(path)).toBeUndefined();
    expect(parseStorePathBase(`${HASH}-${name}`).path).toBe(path);
  });

  it('has one verdict: the pattern, the predicate, the parser and the explanation agree on any input', () => {
    const nameChar = fc.constantFrom(...'aZ09+-._?=/ $'.split(''));
    const candidate = fc.oneof(
      fc.string(),
      fc.tuple(fc.constantFrom(HASH, 'e'.repeat(32), HASH.slice(1)), fc.constantFrom('-', '_', ''), fc.array(nameChar, { maxLength: 215 })).map(
        ([hash, dash, name]) => `/nix/store/${hash}${dash}${name.join('')}`,
      ),
    );
    fc.assert(
      fc.property(candidate, (path) => {
        const valid = STORE_PATH_PATTERN.test(path);
        expect(isStorePath(path)).toBe(valid);
        expect(storePathProblem(path) === undefined).toBe(valid);
        let parsed = true;
        try {
          parseStorePath(path);
        } catch (error) {
          expect(error).toMatchObject({ code: 'FLOXK8S_STORE_PATH_INVALID' });
          parsed = false;
        }
        expect(parsed).toBe(valid);
      }),
      { numRuns: 2000 },
    );
  });
});
