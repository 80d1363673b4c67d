import { createHash } from 'node:crypto';
import { describe, expect, test } from 'vitest';
import { PathInfoInvalidError, SbomError } from './errors.ts';
import { catchError } from '../test/synthetic.ts';
import { closurePath, type ClosurePathInfo } from './path-info.ts';

const PATH = '/nix/store/i1b3m89izl6r0snhc3yjsnnd0wi90s5k-flox-fixture-tree-1.0';
const DATA = '/nix/store/8b1dhq3iglr2j02bqx1pqmci5ls7m9nq-flox-fixture-data-1.0';
const HEX = '3c6491099b0c06c3c65f7795e6ea0759b017464a54d4681b0d2b7522bef494f2';
const NIX32 = 'sha256:1wllyjz24x9b1ldnim2l9931gc2r0zmfd5bpbz3c61hckc4r2r1w';
const SRI = `sha256-${Buffer.from(HEX, 'hex').toString('base64')}`;

const info = (extra: Partial<Record<keyof ClosurePathInfo, unknown>> = {}): ClosurePathInfo =>
  ({ storePath: PATH, narHash: NIX32, narSize: 2824, references: [], ...extra }) as ClosurePathInfo;

describe('closurePath', () => {
  test('a narinfo (basenames) and a store record (full paths) give the same canonical form', () => {
    const fromNarinfo = closurePath(info({ references: [PATH.slice(11), DATA.slice(11)], deriver: 'wl94lsk3lhzifq89p6z26w06ka2mfzj4-x.drv' }));
    const fromStore = closurePath(info({ references: [DATA, PATH], deriver: '/nix/store/wl94lsk3lhzifq89p6z26w06ka2mfzj4-x.drv' }));
    expect(fromStore).toEqual(fromNarinfo);
    expect(fromNarinfo.references).toEqual([DATA, PATH]);
    expect(fromNarinfo.storeName).toBe('flox-fixture-tree-1.0');
  });

  test.each([['nix32', NIX32], ['hex', `sha256:${HEX}`], ['SRI', SRI]])('a %s NarHash gives the same hex and nix32', (_, narHash) => {
    const p = closurePath(info({ narHash }));
    expect([p.narHashHex, p.narHash]).toEqual([HEX, NIX32]);
  });

  test('signatures are kept sorted and unique', () => {
    const sig = (n: number): string => `k-${n}:${createHash('sha512').update(String(n)).digest('base64')}`;
    expect(closurePath(info({ sigs: [sig(2), sig(1), sig(2)] })).sigs).toEqual([sig(1), sig(2)].sort());
  });

  test.each<[string, Partial<Record<keyof ClosurePathInfo, unknown>>]>([
    ['a path outside the store', { storePath: '/usr/bin/hello' }],
    ['a path inside a store path', { storePath: `${PATH}/bin/tree-tool` }],
    ['a store path with a bad hash part', { storePath: '/nix/store/eeeeeeeeeeeeeeeeeeeeeeeeeeeeeeee-x' }],
    ['a storePath that is not a string', { storePath: 42 }],
    ['a NarHash that is not sha256', { narHash: 'md5:abc' }],
    ['a NarHash of the wrong length', { narHash: `sha256:${HEX.slice(2)}` }],
    ['a negative NarSize', { narSize: -1 }],
    ['a fractional NarSize', { narSize: 1.5 }],
    ['a NarSize given as text', { narSize: '2824' }],
    ['references that are not a list', { references: DATA }],
    ['a reference that is not a store path', { references: ['../../etc/passwd'] }],
    ['a reference under another store dir', { references: ['/gnu/store/8b1dhq3iglr2j02bqx1pqmci5ls7m9nq-x'] }],
    ['a deriver that is not a .drv', { deriver: 'wl94lsk3lhzifq89p6z26w06ka2mfzj4-x' }],
    ['a signature without a key name', { sigs: ['AAAA'] }],
    ['a signature with a newline', { sigs: ['k:AA==\nReferences: x'] }],
    ['a CA with a line break', { ca: 'fixed:r:sha256:x\nSig: y' }],
    ['a System with a space in front', { system: ' x86_64-linux' }],
  ])('%s is FLOXK8S_SBOM_PATH_INFO_INVALID', (_, extra) => {
    const error = catchError(() => closurePath(info(extra)));
    expect(error).toBeInstanceOf(PathInfoInvalidError);
    expect(error).toBeInstanceOf(SbomError);
    expect((error as PathInfoInvalidError).code).toBe('FLOXK8S_SBOM_PATH_INFO_INVALID');
  });

  test('a path info that is not an object is FLOXK8S_SBOM_PATH_INFO_INVALID', () => {
    expect((catchError(() => closurePath(null as unknown as ClosurePathInfo)) as SbomError).code).toBe('FLOXK8S_SBOM_PATH_INFO_INVALID');
  });
});
