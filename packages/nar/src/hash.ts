import { createHash } from 'node:crypto';
import { HashInvalidError } from './errors.ts';
import { nix32Decode, nix32Encode } from './nix32.ts';

const SHA256_BYTES = 32;

/** Parse a sha256 given as `sha256:<nix32|hex|base64>` or SRI `sha256-<base64>`; returns the 32 digest bytes. */
export function parseSha256(text: string): Uint8Array {
  let body: string;
  let sri = false;
  if (text.startsWith('sha256:')) body = text.slice(7);
  else if (text.startsWith('sha256-')) {
    body = text.slice(7);
    sri = true;
  } else throw new HashInvalidError(`hash ${JSON.stringify(text)} must start with "sha256:" or "sha256-" (SRI); only sha256 is supported`);
  if (!sri && body.length === 52) {
    try {
      return nix32Decode(body);
    } catch (cause) {
      throw new HashInvalidError(`hash ${JSON.stringify(text)} is not valid nix32`, { cause });
    }
  }
  if (!sri && body.length === 64) {
    if (!/^[0-9a-fA-F]{64}$/.test(body)) throw new HashInvalidError(`hash ${JSON.stringify(text)} is not valid hex`);
    return Uint8Array.from(Buffer.from(body, 'hex'));
  }
  if (body.length === 44 && /^[A-Za-z0-9+/]{43}=$/.test(body)) {
    const bytes = Buffer.from(body, 'base64');
    if (bytes.length === SHA256_BYTES) return Uint8Array.from(bytes);
  }
  throw new HashInvalidError(`hash ${JSON.stringify(text)} is not a sha256 in nix32 (52 chars), hex (64) or base64 (44)`);
}

/** Normalise any accepted sha256 spelling to Nix's canonical `sha256:<nix32>`. */
export function normaliseSha256(text: string): string {
  return `sha256:${nix32Encode(parseSha256(text))}`;
}

/** Format 32 digest bytes as `sha256:<nix32>`. */
export function formatSha256(digest: Uint8Array): string {
  return `sha256:${nix32Encode(digest)}`;
}

/** sha256 of bytes, as `sha256:<nix32>`. */
export function sha256Nix32(bytes: Uint8Array): string {
  return formatSha256(createHash('sha256').update(bytes).digest());
}
