import { describe, expect, it } from 'vitest';
import { parseStorePath } from './store-path.ts';

describe('parseStorePath', () => {
  it('splits a store path into hash, name and base', () => {
    expect(parseStorePath('/nix/store/ssklkd62lq1nf85a4g28682cyfhlxf0x-flox-fixture-busybox-1.0')).toEqual({
      storeDir: '/nix/store',
      hash: 'ssklkd62lq1nf85a4g28682cyfhlxf0x',
      name: 'flox-fixture-busybox-1.0',
      path: '/nix/store/ssklkd62lq1nf85a4g28682cyfhlxf0x-flox-fixture-busybox-1.0',
      base: 'ssklkd62lq1nf85a4g28682cyfhlxf0x-flox-fixture-busybox-1.0',
    });
  });

  it('honours another store directory', () => {
    expect(parseStorePath('/opt/store/ssklkd62lq1nf85a4g28682cyfhlxf0x-x', '/opt/store').hash).toBe('ssklkd62lq1nf85a4g28682cyfhlxf0x');
  });

  it.each([
    ['outside the store', '/usr/bin/sh'],
    ['a path inside a store path', '/nix/store/ssklkd62lq1nf85a4g28682cyfhlxf0x-busybox/bin/sh'],
    ['a short hash', '/nix/store/ssklkd62lq1nf85a4g28682cyfhlxf0-busybox'],
    ['a hash with e/o/u/t', '/nix/store/esklkd62lq1nf85a4g28682cyfhlxf0x-busybox'],
    ['no name', '/nix/store/ssklkd62lq1nf85a4g28682cyfhlxf0x-'],
    ['a forbidden character', '/nix/store/ssklkd62lq1nf85a4g28682cyfhlxf0x-bu$ybox'],
    ['the name ..', '/nix/store/ssklkd62lq1nf85a4g28682cyfhlxf0x-..'],
    ['a 212-character name', `/nix/store/ssklkd62lq1nf85a4g28682cyfhlxf0x-${'a'.repeat(212)}`],
  ])('rejects %s', (_why, path) => {
    expect(() => parseStorePath(path)).toThrow(expect.objectContaining({ code: 'FLOXK8S_STORE_PATH_INVALID' }));
  });
});
