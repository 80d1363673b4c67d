import { execFileSync } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { chmod, mkdir, mkdtemp, rm, symlink, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { nixFixtures } from '@flox-k8s/nix-fixtures';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { nixDump } from '../test/nix.ts';
import { makeTrapTree } from '../test/trees.ts';
import { dumpNarByteStream } from './nar-dump-bytes.ts';
import { STREAM_CHUNK } from './nar-dump.ts';

/** Reads the whole stream with a BYOB reader into ONE reused buffer of `size` bytes, copying out what each read filled. */
async function readByob(stream: ReadableStream<Uint8Array>, size: number): Promise<{ bytes: Buffer; reads: number }> {
  const reader = stream.getReader({ mode: 'byob' });
  const parts: Buffer[] = [];
  let buffer = new ArrayBuffer(size);
  let reads = 0;
  for (;;) {
    const { value, done } = await reader.read(new Uint8Array(buffer, 0, size));
    if (value !== undefined) {
      // The reader hands back the same memory (transferred): copy before reusing it.
      parts.push(Buffer.from(value));
      buffer = value.buffer as ArrayBuffer;
    }
    if (done) break;
    reads++;
  }
  return { bytes: Buffer.concat(parts), reads };
}

async function readDefault(stream: ReadableStream<Uint8Array>): Promise<Buffer[]> {
  const chunks: Buffer[] = [];
  for await (const chunk of stream as unknown as AsyncIterable<Uint8Array>) chunks.push(Buffer.from(chunk.buffer, chunk.byteOffset, chunk.byteLength));
  return chunks;
}

describe('dumpNarByteStream', () => {
  let tmp: string;
  let mixed: string;
  let tiny: string;
  beforeAll(async () => {
    tmp = await mkdtemp(join(tmpdir(), 'nar-dump-bytes-'));
    tiny = join(tmp, 'tiny');
    await mkdir(join(tiny, 'sub'), { recursive: true });
    await writeFile(join(tiny, 'sub', 'f'), 'eleven byte');
    await writeFile(join(tiny, 'x'), '#!/bin/sh\n');
    await chmod(join(tiny, 'x'), 0o555);
    await symlink('sub/f', join(tiny, 'l'));
    mixed = join(tmp, 'mixed');
    await mkdir(join(mixed, 'd', 'e'), { recursive: true });
    await makeTrapTree(join(mixed, 'trap'));
    for (const [i, size] of [STREAM_CHUNK - 3, STREAM_CHUNK + 5, 2 * STREAM_CHUNK + 1234].entries()) await writeFile(join(mixed, 'd', `big${i}`), randomBytes(size));
    for (let i = 0; i < 120; i++) await writeFile(join(mixed, 'd/e', `small${i}`), randomBytes((i * 37) % 3000));
    await writeFile(join(mixed, 'exe'), randomBytes(70_001));
    await chmod(join(mixed, 'exe'), 0o755);
    await writeFile(join(mixed, 'empty'), '');
    await symlink('d/big0', join(mixed, 'link'));
  });
  afterAll(async () => {
    await rm(tmp, { recursive: true, force: true });
  });

  it('with a BYOB reader reusing one buffer of any size, equals nix-store --dump', async () => {
    // Views smaller than a token (1, 7 bytes) on the small trap tree; odd sizes, exactly a chunk and more on all of it.
    for (const [path, sizes] of [
      [tiny, [1, 7]],
      [join(mixed, 'trap'), [4099]],
      [mixed, [4099, STREAM_CHUNK, 3 * STREAM_CHUNK + 1]],
    ] as const) {
      const expected = nixDump(path);
      for (const size of sizes) {
        const { bytes, reads } = await readByob(dumpNarByteStream(path), size);
        expect(bytes.equals(expected)).toBe(true);
        // Every read but the last fills the whole view.
        expect(reads).toBe(Math.ceil(expected.length / size));
      }
    }
  });

  it('with a default reader, equals nix-store --dump, in chunks the consumer owns', async () => {
    const chunks = await readDefault(dumpNarByteStream(mixed));
    expect(Buffer.concat(chunks).equals(nixDump(mixed))).toBe(true);
    expect(new Set(chunks.map((c) => c.buffer)).size).toBe(chunks.length);
    expect(Math.max(...chunks.map((c) => c.length))).toBe(STREAM_CHUNK);
  });

  it('equals nix-store --dump on every fixture store path and on a lone file, executable and symlink', async () => {
    const fx = await nixFixtures();
    await writeFile(join(tmp, 'file'), 'just a file');
    await writeFile(join(tmp, 'exe1'), 'exe');
    await chmod(join(tmp, 'exe1'), 0o555);
    await symlink('somewhere', join(tmp, 'sym'));
    for (const path of [...fx.closure, join(tmp, 'file'), join(tmp, 'exe1'), join(tmp, 'sym')]) {
      expect((await readByob(dumpNarByteStream(path), 65_536)).bytes.equals(nixDump(path))).toBe(true);
    }
  });

  it('errors the stream with FLOXK8S_NAR_UNSUPPORTED_FILE on a fifo', async () => {
    const dir = join(tmp, 'withfifo');
    await mkdir(dir);
    execFileSync('mkfifo', [join(dir, 'pipe')]);
    await expect(readByob(dumpNarByteStream(dir), 4096)).rejects.toMatchObject({ code: 'FLOXK8S_NAR_UNSUPPORTED_FILE' });
  });

  it('cancel stops the walk', async () => {
    const stream = dumpNarByteStream(mixed);
    const reader = stream.getReader({ mode: 'byob' });
    const first = await reader.read(new Uint8Array(100));
    expect(Buffer.from(first.value ?? []).subarray(8, 21).toString()).toBe('nix-archive-1');
    await reader.cancel();
    await expect(reader.closed).resolves.toBeUndefined();
  });
});
