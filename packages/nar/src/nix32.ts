import { Nix32InvalidError } from './errors.ts';

// Nix's base-32 alphabet omits e, o, u and t; digits are emitted most significant first
// while bits are taken from the least significant end of the byte string.
const alphabet = '0123456789abcdfghijklmnpqrsvwxyz';
const values = new Int8Array(128).fill(-1);
for (let i = 0; i < alphabet.length; i++) values[alphabet.charCodeAt(i)] = i;

/** Length of the nix32 encoding of `byteLength` bytes. */
export function nix32Length(byteLength: number): number {
  return Math.ceil((byteLength * 8) / 5);
}

/** Encode bytes in Nix's base-32 (as in store path hashes and `sha256:` narinfo hashes). */
export function nix32Encode(bytes: Uint8Array): string {
  const len = nix32Length(bytes.length);
  let out = '';
  for (let n = len - 1; n >= 0; n--) {
    const b = n * 5;
    const i = b >>> 3;
    const j = b & 7;
    const lo = bytes[i] ?? 0;
    const hi = bytes[i + 1] ?? 0;
    const c = ((lo >>> j) | (hi << (8 - j))) & 0x1f;
    out += alphabet[c];
  }
  return out;
}

/** Decode Nix base-32; throws Nix32InvalidError (FLOXK8S_NIX32_INVALID) on a bad digit or stray high bits. */
export function nix32Decode(text: string): Uint8Array {
  const byteLength = Math.floor((text.length * 5) / 8);
  if (nix32Length(byteLength) !== text.length) {
    throw new Nix32InvalidError(`nix32 string of length ${text.length} is not a valid encoding length; expected e.g. 32 (20 bytes) or 52 (32 bytes)`);
  }
  const out = new Uint8Array(byteLength);
  for (let n = 0; n < text.length; n++) {
    const code = text.charCodeAt(text.length - 1 - n);
    const digit = code < 128 ? (values[code] ?? -1) : -1;
    if (digit < 0) {
      throw new Nix32InvalidError(`invalid nix32 character ${JSON.stringify(text[text.length - 1 - n])} in ${JSON.stringify(text)}; the alphabet is ${alphabet}`);
    }
    const b = n * 5;
    const i = b >>> 3;
    const j = b & 7;
    out[i] = (out[i] ?? 0) | ((digit << j) & 0xff);
    const carry = digit >>> (8 - j);
    if (i + 1 < byteLength) out[i + 1] = (out[i + 1] ?? 0) | carry;
    else if (carry !== 0) throw new Nix32InvalidError(`nix32 string ${JSON.stringify(text)} has non-zero excess bits`);
  }
  return out;
}
