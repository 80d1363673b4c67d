import { createHash } from 'node:crypto';
import { describe, expect, it } from 'vitest';
import { normaliseSha256, parseSha256 } from './hash.ts';
import { nix32Encode } from './nix32.ts';

describe('sha256 spellings', () => {
  const digest = createHash('sha256').update('flox').digest();
  const canonical = `sha256:${nix32Encode(digest)}`;

  it('accepts nix32, hex, base64 and SRI and normalises to sha256:<nix32>', () => {
    for (const spelling of [canonical, `sha256:${digest.toString('hex')}`, `sha256:${digest.toString('base64')}`, `sha256-${digest.toString('base64')}`]) {
      expect(Buffer.from(parseSha256(spelling)).equals(digest)).toBe(true);
      expect(normaliseSha256(spelling)).toBe(canonical);
    }
  });

  it('rejects other algorithms and malformed bodies with FLOXK8S_HASH_INVALID', () => {
    for (const bad of ['md5:abc', `sha512:${digest.toString('hex')}`, 'sha256:xyz', `sha256:${digest.toString('hex').slice(2)}`, `sha256-${digest.toString('hex')}`]) {
      expect(() => parseSha256(bad)).toThrow(expect.objectContaining({ code: 'FLOXK8S_HASH_INVALID' }));
    }
  });
});
