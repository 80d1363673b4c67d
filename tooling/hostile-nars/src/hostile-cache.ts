// Builds a signed binary cache directory from hand-made NAR bytes, so hostile
// archives can be served through every fetch path by a real loopback cache.
import { execFileSync } from 'node:child_process';
import { createHash } from 'node:crypto';
import { mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';

/**
 * What writing a signed cache needs from `@flox-k8s/nar` (passed in, so this test kit
 * depends on no package: nar's own tests hand in their sources, other packages nar's exports).
 */
export interface NarCodec<Key> {
  nix32Encode(bytes: Uint8Array): string;
  formatSha256(digest: Uint8Array): string;
  signNarinfo(info: CacheNarinfo, secretKey: Key): CacheNarinfo;
  serializeNarinfo(info: CacheNarinfo): string;
}

/** The narinfo fields this kit writes (a subset of nar's `Narinfo`). */
export interface CacheNarinfo {
  storePath: string;
  url: string;
  compression: string;
  fileHash?: string | undefined;
  fileSize?: number | undefined;
  narHash: string;
  narSize: number;
  references: string[];
  sigs: string[];
}

export type CacheCompression = 'none' | 'xz' | 'zstd' | 'bzip2';

const EXT: Record<CacheCompression, string> = { none: '', xz: '.xz', zstd: '.zst', bzip2: '.bz2' };
const COMMAND: Record<Exclude<CacheCompression, 'none'>, string[]> = { xz: ['xz', '-c', '-6'], zstd: ['zstd', '-c', '-3', '-q'], bzip2: ['bzip2', '-c', '-9'] };

/** Compresses with the real CLI (as the caches Nix writes). */
export function compress(bytes: Uint8Array, compression: CacheCompression): Buffer {
  if (compression === 'none') return Buffer.from(bytes);
  const [cmd, ...args] = COMMAND[compression];
  return execFileSync(cmd as string, args, { input: bytes, maxBuffer: 1 << 30 });
}

const NIX32_ALPHABET = '0123456789abcdfghijklmnpqrsvwxyz';

/** A store path named `name` (its 32-character hash derived from the name). */
export function storePathFor(name: string): string {
  const digest = createHash('sha256').update(name).digest();
  let hash = '';
  for (let i = 0; i < 32; i++) hash += NIX32_ALPHABET[(digest[i] as number) % 32];
  return `/nix/store/${hash}-${name}`;
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
  /** The URL the narinfo states, when not the file written (unsigned in Nix: a NAR URL pointing elsewhere). */
  url?: string;
  /** Store paths the narinfo names as references (default none; written as base names, as Nix does). */
  references?: string[];
}

/** Writes nix-cache-info, the NAR files and signed narinfos into `dir`; returns the store paths in order. */
export function writeSignedCache<Key>(dir: string, entries: readonly CacheEntry[], secretKey: Key, nar: NarCodec<Key>): string[] {
  mkdirSync(join(dir, 'nar'), { recursive: true });
  writeFileSync(join(dir, 'nix-cache-info'), 'StoreDir: /nix/store\nWantMassQuery: 1\nPriority: 40\n');
  return entries.map((e) => {
    const file = Buffer.from(e.file ?? compress(e.nar, e.compression));
    const fileHash = nar.formatSha256(createHash('sha256').update(file).digest());
    const url = `nar/${fileHash.slice('sha256:'.length)}-${e.name}.nar${EXT[e.compression]}`;
    writeFileSync(join(dir, url), file);
    const storePath = storePathFor(e.name);
    const info: CacheNarinfo = {
      storePath,
      url: e.url ?? url,
      compression: e.compressionField ?? e.compression,
      fileHash,
      fileSize: file.length,
      narHash: e.narHash ?? nar.formatSha256(createHash('sha256').update(e.nar).digest()),
      narSize: e.narSize ?? e.nar.length,
      references: (e.references ?? []).map((r) => r.slice(r.lastIndexOf('/') + 1)),
      sigs: [],
    };
    writeFileSync(join(dir, `${storePath.slice(11, 43)}.narinfo`), nar.serializeNarinfo(nar.signNarinfo(info, secretKey)));
    return storePath;
  });
}
