import { createPrivateKey, createPublicKey, sign, verify, type KeyObject } from 'node:crypto';
import { KeyInvalidError, NarinfoSignatureError, NarinfoUntrustedError } from './errors.ts';
import type { Narinfo } from './narinfo.ts';

/** A named ed25519 public key, as in `cache.nixos.org-1:<base64>`. */
export interface PublicKey {
  name: string;
  key: KeyObject;
}

/** A named ed25519 secret key, from a Nix secret-key file. */
export interface SecretKey {
  name: string;
  key: KeyObject;
}

// DER prefixes that turn raw ed25519 key bytes into SPKI / PKCS#8 documents.
const SPKI_PREFIX = Buffer.from('302a300506032b6570032100', 'hex');
const PKCS8_PREFIX = Buffer.from('302e020100300506032b657004220420', 'hex');

function splitKey(text: string, what: string, bytes: number): { name: string; raw: Buffer } {
  const trimmed = text.trim();
  const colon = trimmed.indexOf(':');
  if (colon <= 0) throw new KeyInvalidError(`${what} must look like "name:<base64>", found ${JSON.stringify(trimmed.slice(0, 40))}`);
  const name = trimmed.slice(0, colon);
  const b64 = trimmed.slice(colon + 1);
  const raw = Buffer.from(b64, 'base64');
  if (!/^[A-Za-z0-9+/]+={0,2}$/.test(b64) || raw.length !== bytes) {
    throw new KeyInvalidError(`${what} ${JSON.stringify(name)}: expected base64 of ${bytes} bytes, found ${raw.length} bytes`);
  }
  return { name, raw };
}

/** Parse a `name:base64` ed25519 public key; throws KeyInvalidError (FLOXK8S_KEY_INVALID). */
export function parsePublicKey(text: string): PublicKey {
  const { name, raw } = splitKey(text, 'public key', 32);
  return { name, key: createPublicKey({ key: Buffer.concat([SPKI_PREFIX, raw]), format: 'der', type: 'spki' }) };
}

/** Parse the contents of a Nix secret-key file (`name:base64` of the 64-byte seed+public key). */
export function parseSecretKey(text: string): SecretKey {
  const { name, raw } = splitKey(text, 'secret key', 64);
  return { name, key: createPrivateKey({ key: Buffer.concat([PKCS8_PREFIX, raw.subarray(0, 32)]), format: 'der', type: 'pkcs8' }) };
}

/** The `name:base64` public key matching a secret key. */
export function publicKeyOf(secret: SecretKey): string {
  const der = createPublicKey(secret.key).export({ format: 'der', type: 'spki' });
  return `${secret.name}:${der.subarray(SPKI_PREFIX.length).toString('base64')}`;
}

/** The string Nix signs: `1;<storePath>;<narHash>;<narSize>;<comma-joined sorted full reference paths>`. */
export function narinfoFingerprint(narinfo: Narinfo): string {
  const storeDir = narinfo.storePath.slice(0, narinfo.storePath.lastIndexOf('/'));
  const refs = narinfo.references.map((r) => `${storeDir}/${r}`).sort();
  return `1;${narinfo.storePath};${narinfo.narHash};${narinfo.narSize};${refs.join(',')}`;
}

/**
 * Check that the narinfo carries a valid signature by one of `trustedKeys` (`name:base64` strings).
 * Returns true, or throws NarinfoUntrustedError (FLOXK8S_NARINFO_UNTRUSTED) when no trusted key signed it,
 * or NarinfoSignatureError (FLOXK8S_NARINFO_SIGNATURE_INVALID) when a trusted key's signature does not verify.
 */
export function verifyNarinfoSignature(narinfo: Narinfo, trustedKeys: readonly (string | PublicKey)[]): boolean {
  const keys = new Map<string, KeyObject>();
  for (const k of trustedKeys) {
    const parsed = typeof k === 'string' ? parsePublicKey(k) : k;
    keys.set(parsed.name, parsed.key);
  }
  const fingerprint = Buffer.from(narinfoFingerprint(narinfo));
  let badByTrusted: string | undefined;
  for (const sig of narinfo.sigs) {
    const colon = sig.indexOf(':');
    if (colon <= 0) continue;
    const key = keys.get(sig.slice(0, colon));
    if (key === undefined) continue;
    const raw = Buffer.from(sig.slice(colon + 1), 'base64');
    if (raw.length === 64 && verify(null, fingerprint, key, raw)) return true;
    badByTrusted = sig.slice(0, colon);
  }
  if (badByTrusted !== undefined) {
    throw new NarinfoSignatureError(
      `narinfo for ${narinfo.storePath}: the signature by trusted key ${badByTrusted} does not match its contents; the narinfo was altered or corrupted`,
    );
  }
  const names = narinfo.sigs.map((s) => s.slice(0, Math.max(0, s.indexOf(':')))).filter((s) => s !== '');
  throw new NarinfoUntrustedError(
    `narinfo for ${narinfo.storePath} is signed by [${names.join(', ')}], none of the trusted keys [${[...keys.keys()].join(', ')}]; add the cache's public key to trustedKeys if you trust it`,
  );
}

/** Sign `narinfo` with a Nix secret key (file contents or parsed); returns a copy with the signature added (replacing one by the same key name). */
export function signNarinfo(narinfo: Narinfo, secretKey: string | SecretKey): Narinfo {
  const secret = typeof secretKey === 'string' ? parseSecretKey(secretKey) : secretKey;
  const sig = sign(null, Buffer.from(narinfoFingerprint(narinfo)), secret.key).toString('base64');
  const others = narinfo.sigs.filter((s) => !s.startsWith(`${secret.name}:`));
  return { ...narinfo, sigs: [...others, `${secret.name}:${sig}`] };
}
