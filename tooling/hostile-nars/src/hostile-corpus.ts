// Hostile NAR archives and the code each must be rejected with: for the parser's
// tests and for every fetch path (whole, streamed, fetch workers; every compression).
import { compress, type CacheCompression, type CacheEntry } from './hostile-cache.ts';
import { narOf, nodeBytes, prng, str, tokens, u64, type NarNode } from './nar-builder.ts';
import { withXzDictionary, withZstdWindow } from './declared-memory.ts';

/** Parser limits a case is read under (the fields of nar's `NarLimits` it uses). */
export interface NarLimits {
  maxNameLength?: number;
  maxDepth?: number;
  maxNarSize?: number;
  maxSymlinkTarget?: number;
  maxEntries?: number;
}

const file = (contents = 'x'): NarNode => ({ type: 'regular', contents });
const dir = (...entries: Array<[string, NarNode]>): NarNode => ({ type: 'directory', entries });
const magic = str('nix-archive-1');

function nested(depth: number): NarNode {
  let node: NarNode = file();
  for (let i = 0; i < depth; i++) node = dir(['d', node]);
  return node;
}

/** Each case: a hostile archive, the code it must be rejected with, and the limits it is read under (if not the defaults). */
export const HOSTILE_NARS: Array<[name: string, nar: Buffer, code: string, limits?: NarLimits]> = [
  ['wrong magic', Buffer.concat([str('nix-archive-2'), nodeBytes(file())]), 'FLOXK8S_NAR_BAD_MAGIC'],
  ['text instead of a NAR', Buffer.from('<html>this is an error page, not an archive</html>'), 'FLOXK8S_NAR_BAD_MAGIC'],
  ['name ".."', narOf(dir(['..', file()])), 'FLOXK8S_NAR_BAD_NAME'],
  ['name "."', narOf(dir(['.', file()])), 'FLOXK8S_NAR_BAD_NAME'],
  ['empty name', narOf(dir(['', file()])), 'FLOXK8S_NAR_BAD_NAME'],
  ['traversal name "../escape"', narOf(dir(['../escape', file()])), 'FLOXK8S_NAR_BAD_NAME'],
  ['absolute name "/etc/passwd"', narOf(dir(['/etc/passwd', file()])), 'FLOXK8S_NAR_BAD_NAME'],
  ['name with a slash', narOf(dir(['a/b', file()])), 'FLOXK8S_NAR_BAD_NAME'],
  ['name with NUL', narOf(dir(['a\0b', file()])), 'FLOXK8S_NAR_BAD_NAME'],
  ['unsorted entries', narOf(dir(['b', file()], ['a', file()])), 'FLOXK8S_NAR_UNSORTED'],
  ['"a" before "B" (byte order puts B first)', narOf(dir(['a', file()], ['B', file()])), 'FLOXK8S_NAR_UNSORTED'],
  ['duplicate entries', narOf(dir(['a', file()], ['a', file()])), 'FLOXK8S_NAR_UNSORTED'],
  ['symlink then a directory of the same name', narOf(dir(['a', { type: 'symlink', target: '/tmp' }], ['a', dir(['x', file()])])), 'FLOXK8S_NAR_UNSORTED'],
  ['symlink then a file of the same name', narOf(dir(['a', { type: 'symlink', target: '../../victim' }], ['a', file('pwned')])), 'FLOXK8S_NAR_UNSORTED'],
  ['non-zero padding after a name', Buffer.concat([magic, tokens('(', 'type', 'directory', 'entry', '(', 'name', str('abc', 1), 'node'), nodeBytes(file()), tokens(')', ')')]), 'FLOXK8S_NAR_BAD_PADDING'],
  ['non-zero padding after contents', Buffer.concat([magic, tokens('(', 'type', 'regular', 'contents', str('12345', 9), ')')]), 'FLOXK8S_NAR_BAD_PADDING'],
  ['non-empty executable marker', Buffer.concat([magic, tokens('(', 'type', 'regular', 'executable', 'yes', 'contents', str('x'), ')')]), 'FLOXK8S_NAR_FORMAT'],
  ['absurd contents length', Buffer.concat([magic, tokens('(', 'type', 'regular', 'contents', u64(2n ** 62n), 'x')]), 'FLOXK8S_NAR_LIMIT'],
  ['absurd name length', Buffer.concat([magic, tokens('(', 'type', 'directory', 'entry', '(', 'name', u64(2n ** 40n))]), 'FLOXK8S_NAR_LIMIT'],
  ['absurd tag length', Buffer.concat([magic, tokens('(', 'type', u64(1_000_000))]), 'FLOXK8S_NAR_FORMAT'],
  ['a name longer than the limit', narOf(dir(['n'.repeat(256), file()])), 'FLOXK8S_NAR_LIMIT'],
  ['nesting deeper than the limit', narOf(nested(300)), 'FLOXK8S_NAR_LIMIT'],
  ['an archive larger than maxNarSize', narOf(file('x'.repeat(1000))), 'FLOXK8S_NAR_LIMIT', { maxNarSize: 512 }],
  ['empty symlink target', narOf(dir(['l', { type: 'symlink', target: '' }])), 'FLOXK8S_NAR_BAD_SYMLINK'],
  ['NUL in a symlink target', narOf(dir(['l', { type: 'symlink', target: 'a\0b' }])), 'FLOXK8S_NAR_BAD_SYMLINK'],
  ['unknown node type', Buffer.concat([magic, tokens('(', 'type', 'fifo', ')')]), 'FLOXK8S_NAR_FORMAT'],
  ['missing closing parenthesis', Buffer.concat([magic, tokens('(', 'type', 'regular', 'contents', str('x'), 'entry')]), 'FLOXK8S_NAR_FORMAT'],
  ['truncated in the middle of contents', narOf(dir(['a', file('y'.repeat(100))])).subarray(0, 200), 'FLOXK8S_NAR_TRUNCATED'],
  ['truncated at a token boundary', narOf(dir(['a', file()])).subarray(0, 96), 'FLOXK8S_NAR_TRUNCATED'],
  ['trailing data', Buffer.concat([narOf(file()), Buffer.alloc(8)]), 'FLOXK8S_NAR_TRAILING_DATA'],
  ['a second root node', Buffer.concat([narOf(file()), nodeBytes(file())]), 'FLOXK8S_NAR_TRAILING_DATA'],
];


/** A directory of `n` empty files (~200 bytes of NAR each; built without spreading, for huge counts). */
export function flatDirectory(n: number): Buffer {
  const parts: Buffer[] = [str('nix-archive-1'), tokens('(', 'type', 'directory')];
  const empty = nodeBytes({ type: 'regular', contents: '' });
  for (let i = 0; i < n; i++) parts.push(tokens('entry', '(', 'name', `f${String(i).padStart(7, '0')}`, 'node'), empty, str(')'));
  parts.push(str(')'));
  return Buffer.concat(parts);
}

/** One hostile fetch: what the cache serves for a store path, and the outcome (a code, or accepted). */
export interface FetchCase extends CacheEntry {
  title: string;
  /** The code it must fail with (several where decoders legitimately differ), or undefined: accepted. */
  code: string | readonly string[] | undefined;
  /** Limits to fetch it under (client option narLimits), when not the defaults. */
  narLimits?: NarLimits;
  /** For accepted cases: what the unpacked root must be. */
  symlinkTarget?: string;
}

const good = narOf(dir(['bin', dir(['hello', { type: 'regular', contents: '#!/bin/sh\necho hello from a hostile test\n', executable: true }])], ['share', dir(['doc', file('x'.repeat(3000))])]));

const ELSEWHERE = '/nix/store/00000000000000000000000000000000-elsewhere/bin';

/** What a corrupted compressed stream may end with, by where the decoder notices. */
const CORRUPT_STREAM = [
  'FLOXK8S_DECOMPRESS_FAILED',
  'FLOXK8S_NAR_FORMAT',
  'FLOXK8S_NAR_BAD_PADDING',
  'FLOXK8S_NAR_BAD_NAME',
  'FLOXK8S_NAR_UNSORTED',
  'FLOXK8S_NAR_TRUNCATED',
  'FLOXK8S_NAR_SIZE_MISMATCH',
  'FLOXK8S_NAR_HASH_MISMATCH',
] as const;

/** A seeded stream of bytes that is no compressed format. */
function garbage(n: number): Buffer {
  const next = prng(7);
  return Buffer.from(Array.from({ length: n }, () => Math.floor(next() * 256)));
}

/**
 * Every hostile case for one compression: each archive of HOSTILE_NARS (signed for exactly
 * its bytes, so only the parser can reject it), symlink roots (legal: kept, never followed),
 * an archive over an entry limit, a signed NarHash of another archive, a decompression bomb
 * lying about NarSize, damaged files (truncated, a flipped byte, garbage, empty, trailing
 * bytes) whose unsigned FileHash/FileSize match what is served, and a 4 GiB xz dictionary or a 2 GiB
 * zstd window declared.
 */
export function fetchCorpus(compression: CacheCompression): FetchCase[] {
  const cases: FetchCase[] = HOSTILE_NARS.map(([title, nar, code, limits], i) => ({
    name: `nar-${i}`,
    title,
    nar,
    compression,
    code,
    ...(limits ? { narLimits: limits } : {}),
  }));
  const decodeFailed = compression === 'none' ? undefined : 'FLOXK8S_DECOMPRESS_FAILED';
  const file = compress(good, compression);
  const flipped = Buffer.from(file);
  // none: inside the file contents (the archive still parses); compressed: the middle of the stream
  const at = compression === 'none' ? good.indexOf('echo hello') : Math.floor(flipped.length / 2);
  flipped[at] = (flipped[at] ?? 0) ^ 0xff;
  cases.push(
    { name: 'symlink-root-abs', title: 'a root that is a symlink to /etc', nar: narOf({ type: 'symlink', target: '/etc' }), compression, code: undefined, symlinkTarget: '/etc' },
    { name: 'symlink-root-up', title: 'a root symlink climbing out of the store', nar: narOf({ type: 'symlink', target: '../../../../etc/passwd' }), compression, code: undefined, symlinkTarget: '../../../../etc/passwd' },
    // as Nix outputs that are symlinks to other store paths are: dangling on the host
    { name: 'symlink-root-store', title: 'a root symlink to another store path', nar: narOf({ type: 'symlink', target: ELSEWHERE }), compression, code: undefined, symlinkTarget: ELSEWHERE },
    { name: 'many-entries', title: '5,000 entries under maxEntries 1,000', nar: flatDirectory(5_000), compression, code: 'FLOXK8S_NAR_LIMIT', narLimits: { maxEntries: 1_000 } },
    { name: 'wrong-narhash', title: 'a NarHash signed for another archive', nar: good, compression, narHash: `sha256:${'1'.repeat(52)}`, code: 'FLOXK8S_NAR_HASH_MISMATCH' },
    { name: 'bomb', title: '16 MiB of zeros signed as a 256 KiB NAR (a bomb)', nar: narOf({ type: 'regular', contents: Buffer.alloc(16 << 20) }), compression, narSize: 256 << 10, code: 'FLOXK8S_NAR_SIZE_MISMATCH' },
    { name: 'truncated', title: 'the file cut at 60%', nar: good, compression, file: file.subarray(0, Math.floor(file.length * 0.6)), code: decodeFailed ?? 'FLOXK8S_NAR_TRUNCATED' },
    // A decoder may stream what it decoded before its checksum fails (xz -dc does): the parser can see the damage first.
    { name: 'flipped', title: 'one byte flipped', nar: good, compression, file: flipped, code: decodeFailed ? CORRUPT_STREAM : 'FLOXK8S_NAR_HASH_MISMATCH' },
    { name: 'garbage', title: '1 KiB of random bytes', nar: good, compression, file: garbage(1024), code: decodeFailed ?? 'FLOXK8S_NAR_BAD_MAGIC' },
    // zstd: no frame at all decodes to nothing, and an empty NAR is a truncated one
    { name: 'empty', title: 'an empty file', nar: good, compression, file: Buffer.alloc(0), code: compression === 'zstd' ? 'FLOXK8S_NAR_TRUNCATED' : (decodeFailed ?? 'FLOXK8S_NAR_TRUNCATED') },
    // bzip2 -dc ignores bytes after the last stream (with a warning): the NAR is whole and verified
    // (uncompressed: the signed NarSize catches the extra bytes first)
    { name: 'trailing', title: 'garbage after a complete stream', nar: good, compression, file: Buffer.concat([file, garbage(64)]), code: compression === 'bzip2' ? undefined : (decodeFailed ?? 'FLOXK8S_NAR_SIZE_MISMATCH') },
  );
  // Decoded without a bound, a dictionary or window the stream declares is touched as far as the
  // output goes: up to the NarSize of memory for a few kB downloaded.
  if (compression === 'xz') {
    cases.push({ name: 'xz-dictionary', title: 'a 4 GiB dictionary declared', nar: good, compression, file: withXzDictionary(file, 40), code: 'FLOXK8S_DECOMPRESS_FAILED' });
  }
  if (compression === 'zstd') {
    cases.push({ name: 'zstd-window', title: 'a 2 GiB window declared', nar: good, compression, file: withZstdWindow(file, 31), code: 'FLOXK8S_DECOMPRESS_FAILED' });
  }
  return cases;
}
