import { randomBytes } from 'node:crypto';
import { describe, expect, it } from 'vitest';
import { nixHash } from '../test/nix.ts';
import { nix32Decode, nix32Encode } from './nix32.ts';

describe('nix32', () => {
  it('matches nix-hash --to-base32 for sha1, sha256 and sha512 sized digests', () => {
    for (const [type, size] of [
      ['sha1', 20],
      ['sha256', 32],
      ['sha512', 64],
    ] as const) {
      for (let i = 0; i < 3; i++) {
        const bytes = randomBytes(size);
        const expected = nixHash('--type', type, '--to-base32', bytes.toString('hex'));
        expect(nix32Encode(bytes)).toBe(expected);
        expect(Buffer.from(nix32Decode(expected)).equals(bytes)).toBe(true);
      }
    }
  });

  it('encodes the sha256 of the empty string as Nix does', () => {
    const digest = Buffer.from('e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855', 'hex');
    expect(nix32Encode(digest)).toBe('0mdqa9w1p6cmli6976v4wi0sw9r4p5prkj7lzfd1877wk11c9c73');
  });

  it('rejects letters outside the alphabet (e, o, u, t) and bad lengths', () => {
    const good = nix32Encode(randomBytes(32));
    for (const bad of ['e', 'o', 'u', 't', 'A', '-']) {
      expect(() => nix32Decode(bad + good.slice(1))).toThrow(expect.objectContaining({ code: 'FLOXK8S_NIX32_INVALID' }));
    }
    expect(() => nix32Decode(good.slice(1))).toThrow(expect.objectContaining({ code: 'FLOXK8S_NIX32_INVALID' }));
  });

  it('rejects encodings with non-zero excess bits', () => {
    // 52 digits hold 260 bits; the first digit may only use its lowest bit for 256-bit values.
    const good = nix32Encode(Buffer.alloc(32, 0xff));
    expect(good[0]).toBe('1');
    expect(() => nix32Decode(`z${good.slice(1)}`)).toThrow(expect.objectContaining({ code: 'FLOXK8S_NIX32_INVALID' }));
  });
});
