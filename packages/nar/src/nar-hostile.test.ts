import { mkdir, mkdtemp, readdir } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Readable } from 'node:stream';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { narOf, nodeBytes, str, tokens, u64, type NarNode } from '../test/nar-builder.ts';
import { NarError } from './errors.ts';
import type { NarLimits } from './nar-parse.ts';
import { unpackNar } from './nar-unpack.ts';
import { removeTree } from './remove-tree.ts';

const file = (contents = 'x'): NarNode => ({ type: 'regular', contents });
const dir = (...entries: Array<[string, NarNode]>): NarNode => ({ type: 'directory', entries });
const magic = str('nix-archive-1');

function nested(depth: number): NarNode {
  let node: NarNode = file();
  for (let i = 0; i < depth; i++) node = dir(['d', node]);
  return node;
}

// Each case: a hostile archive and the code it must be rejected with.
const corpus: Array<[string, Buffer, string, NarLimits?]> = [
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

describe('hostile NARs', () => {
  let box: string;
  let victim: string;
  beforeAll(async () => {
    box = await mkdtemp(join(tmpdir(), 'nar-hostile-'));
    victim = join(box, 'victim');
    await mkdir(victim);
  });
  afterAll(async () => {
    await removeTree(box);
  });

  it.each(corpus)('rejects %s', async (_name, nar, code, limits) => {
    const dest = join(box, 'dest');
    const err: unknown = await unpackNar(Readable.from([nar]), dest, limits ? { limits } : {}).then(
      () => undefined,
      (e: unknown) => e,
    );
    expect(err).toBeInstanceOf(NarError);
    expect(err).toMatchObject({ code });
    // Nothing left in dest, nothing written beside it or through a symlink into the victim.
    expect(await readdir(box)).toEqual(['victim']);
    expect(await readdir(victim)).toEqual([]);
  });
});
