// Builds a signed binary cache directory from hand-made NAR bytes, so hostile
// archives can be served through every fetch path by a real loopback cache.
import { execFileSync } from 'node:child_process';
import { createHash } from 'node:crypto';
import { mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { formatSha256 } from '../src/hash.ts';
import { serializeNarinfo, type Narinfo } from '../src/narinfo.ts';
import { nix32Encode } from '../src/nix32.ts';
import { signNarinfo, type SecretKey } from '../src/signatures.ts';

export type CacheCompression = 'none' | 'xz' | 'zstd' | 'bzip2';

const EXT: Record<CacheCompression, string> = { none: '', xz: '.xz', zstd: '.zst', bzip2: '.bz2' };
const COMMAND: Record<Exclude<CacheCompression, 'none'>, string[]> = { xz: ['xz', '-c', '-6'], zstd: ['zstd', '-c', '-3', '-q'], bzip2: ['bzip2', '-c', '-9'] };

/** Compresses with the real CLI (as the caches Nix writes). */
export function compress(bytes: Uint8Array, compression: CacheCompression): Buffer {
  if (compression === 'none') return Buffer.from(bytes);
  const [cmd, ...args] = COMMAND[compression];
  return execFileSync(cmd as string, args, { input: bytes, maxBuffer: 1 << 30 });
}

/** A store path named `name` (its hash derived from the name). */
export function storePathFor(name: string): string {
  return `/nix/store/${nix32Encode(createHash('sha256').update(name).digest().subarray(0, 20))}-${name}`;
}

export interface CacheEntry {
  name: string;
  nar: Uint8Array;
  compression: CacheCompression;
  /** The compressed file as served, when not `compress(nar)` (garbage, truncated, flipped, bombs). */
  file?: Uint8Array;
  /** The Compression the narinfo states, when not `compression` (values we cannot decode). */
  compressionField?: string;
  /** What the signed narinfo claims, when not the truth (hash mismatches, NarSize lies). */
  narHash?: string;
  narSize?: number;
}

/** Writes nix-cache-info, the NAR files and signed narinfos into `dir`; returns the store paths in order. */
export function writeSignedCache(dir: string, entries: readonly CacheEntry[], secretKey: string | SecretKey): string[] {
  mkdirSync(join(dir, 'nar'), { recursive: true });
  writeFileSync(join(dir, 'nix-cache-info'), 'StoreDir: /nix/store\nWantMassQuery: 1\nPriority: 40\n');
  return entries.map((e) => {
    const file = Buffer.from(e.file ?? compress(e.nar, e.compression));
    const fileHash = formatSha256(createHash('sha256').update(file).digest());
    const url = `nar/${fileHash.slice('sha256:'.length)}-${e.name}.nar${EXT[e.compression]}`;
    writeFileSync(join(dir, url), file);
    const storePath = storePathFor(e.name);
    const info: Narinfo = {
      storePath,
      url,
      compression: e.compressionField ?? e.compression,
      fileHash,
      fileSize: file.length,
      narHash: e.narHash ?? formatSha256(createHash('sha256').update(e.nar).digest()),
      narSize: e.narSize ?? e.nar.length,
      references: [],
      sigs: [],
    };
    writeFileSync(join(dir, `${storePath.slice(11, 43)}.narinfo`), serializeNarinfo(signNarinfo(info, secretKey)));
    return storePath;
  });
}
