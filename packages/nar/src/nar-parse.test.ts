import { mkdtemp } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { setImmediate as tick } from 'node:timers/promises';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { nixDump } from '../test/nix.ts';
import { NarParser, parseNar, type NarHandler, type NarSink } from './nar-parse.ts';
import { unpackOwnedNar } from './nar-unpack.ts';
import { markOwned } from './owned-chunks.ts';
import { removeTree } from './remove-tree.ts';
import { narOf, prng, type NarNode } from '@flox-k8s/hostile-nars';

/** A tree with what trips a parser at chunk boundaries: empty and unaligned files, long names, deep and empty directories. */
function sampleNar(): Buffer {
  const rng = prng(7);
  const bytes = (n: number): Buffer => Buffer.from(Array.from({ length: n }, () => Math.floor(rng() * 256)));
  const files: Array<[string, NarNode]> = [];
  for (let i = 0; i < 12; i++) files.push([`f${String(i).padStart(2, '0')}${'x'.repeat(i * 9)}`, { type: 'regular', contents: bytes(Math.floor(rng() * 3000)), executable: i % 3 === 0 }]);
  files.push(['zero', { type: 'regular', contents: '' }]);
  return narOf({
    type: 'directory',
    entries: [
      ['a', { type: 'directory', entries: [['b', { type: 'directory', entries: [['c', { type: 'regular', contents: 'seven b' }]] }], ['empty', { type: 'directory', entries: [] }]] }],
      ['files', { type: 'directory', entries: files }],
      ['link', { type: 'symlink', target: '../files/f01xxxxxxxxx' }],
      ['long-target', { type: 'symlink', target: 't'.repeat(1000) }],
    ],
  });
}

type Event = [string, ...unknown[]];

/** Every event NarParser reports, with paths and data copied (the handler may not keep them). */
function recorder(): { handler: NarHandler; events: Event[] } {
  const events: Event[] = [];
  const path = (p: readonly Buffer[]): string => p.map((n) => n.toString('latin1')).join('/');
  return {
    events,
    handler: {
      directory: (p) => events.push(['directory', path(p)]),
      directoryEnd: (p) => events.push(['directoryEnd', path(p)]),
      fileStart: (p, executable, size) => events.push(['file', path(p), executable, size]),
      fileData: (data) => {
        const last = events.at(-1) as Event;
        if (last[0] === 'data') last[1] = Buffer.concat([last[1] as Buffer, data]);
        else events.push(['data', Buffer.from(data)]);
      },
      fileEnd: () => events.push(['fileEnd']),
      symlink: (p, target) => events.push(['symlink', path(p), target.toString('latin1')]),
    },
  };
}

function chunks(bytes: Buffer, size: number): Buffer[] {
  const out: Buffer[] = [];
  for (let i = 0; i < bytes.length; i += size) out.push(Buffer.from(bytes.subarray(i, i + size)));
  return out;
}

describe('NarParser', () => {
  const nar = sampleNar();

  it('reports the same events in archive order however the archive is cut, and keeps no view of a pushed chunk', () => {
    const whole = recorder();
    const parser = new NarParser(whole.handler);
    parser.push(nar);
    parser.end();
    expect(parser.size).toBe(nar.length);
    expect(whole.events.slice(0, 3)).toEqual([['directory', ''], ['directory', 'a'], ['directory', 'a/b']]);
    expect(whole.events).toContainEqual(['file', 'files/zero', false, 0]);
    expect(whole.events).toContainEqual(['symlink', 'long-target', 't'.repeat(1000)]);
    expect(whole.events.at(-1)).toEqual(['directoryEnd', '']);
    for (const size of [1, 3, 8, 13, 4096]) {
      const cut = recorder();
      const p = new NarParser(cut.handler);
      for (const chunk of chunks(nar, size)) {
        p.push(chunk);
        // Overwritten at once: a token carried over to the next chunk must be the parser's own copy.
        chunk.fill(0xa5);
      }
      p.end();
      expect(cut.events).toEqual(whole.events);
    }
  });

  it('says what it was reading when the archive ends early, at every cut', () => {
    for (let end = 0; end < nar.length; end += 37) {
      const p = new NarParser(recorder().handler);
      let err: unknown;
      try {
        p.push(nar.subarray(0, end));
        p.end();
      } catch (e) {
        err = e;
      }
      expect(err).toMatchObject({ code: 'FLOXK8S_NAR_TRUNCATED' });
      expect((err as Error).message).toMatch(new RegExp(`^NAR ended after ${end} bytes while reading (the magic|a tag|entry name|symlink target|file size|file contents|padding of file contents|the executable marker); `));
    }
  });
});

describe('unpackOwnedNar', () => {
  let tmp: string;
  beforeAll(async () => {
    tmp = await mkdtemp(join(tmpdir(), 'nar-parse-'));
  });
  afterAll(async () => {
    await removeTree(tmp);
  });

  it('frees each owned decoder chunk as soon as it is written and hashed, before reading the next', async () => {
    // Chunks larger than half of Buffer's pool (64 KiB in Node 24), as decoder buffers are.
    const nar = narOf({
      type: 'directory',
      entries: [
        ['big', { type: 'regular', contents: Buffer.alloc(300_000, 1) }],
        ['small', { type: 'directory', entries: [['x', { type: 'regular', contents: 'x' }]] }],
        ['tail', { type: 'regular', contents: Buffer.alloc(100_000, 2) }],
      ],
    });
    const live: number[] = [];
    const owned = (async function* () {
      let previous: Buffer | undefined;
      for (const piece of chunks(nar, 40_000)) {
        // The previous chunk is gone by the time the unpacker asks for this one.
        if (previous !== undefined) live.push(previous.buffer.byteLength);
        const chunk = Buffer.allocUnsafeSlow(piece.length);
        piece.copy(chunk);
        markOwned(chunk, chunk.length);
        previous = chunk;
        yield chunk;
      }
    })();
    const dest = join(tmp, 'owned');
    await unpackOwnedNar(owned, dest, {}, true);
    expect(nixDump(dest).equals(nar)).toBe(true);
    expect(live.length).toBeGreaterThan(8);
    expect(live).toEqual(live.map(() => 0));
  });
});

describe('parseNar (an async sink)', () => {
  /** A sink that records the tree, yielding to the event loop at every call and every chunk of contents. */
  function slowSink(): { sink: NarSink; seen: string[] } {
    const seen: string[] = [];
    const path = (p: readonly Buffer[]): string => p.map((n) => n.toString('latin1')).join('/');
    return {
      seen,
      sink: {
        async directory(p) {
          await tick();
          seen.push(`dir ${path(p)}`);
        },
        async directoryEnd(p) {
          await tick();
          seen.push(`end ${path(p)}`);
        },
        async file(p, executable, size, contents) {
          const parts: Buffer[] = [];
          for await (const c of contents) {
            parts.push(Buffer.from(c));
            await tick();
          }
          const body = Buffer.concat(parts);
          expect(body.length).toBe(size);
          seen.push(`file ${path(p)} ${executable} ${body.toString('base64')}`);
        },
        async symlink(p, target) {
          await tick();
          seen.push(`link ${path(p)} ${target.toString('latin1')}`);
        },
      },
    };
  }

  it('feeds every call in archive order, file contents across chunks, and hashes the archive', async () => {
    const nar = sampleNar();
    const reference = slowSink();
    const whole = await parseNar((async function* () { yield nar; })(), reference.sink);
    expect(whole.narSize).toBe(nar.length);
    expect(reference.seen[0]).toBe('dir ');
    expect(reference.seen.at(-1)).toBe('end ');
    for (const size of [1, 7, 4096]) {
      const cut = slowSink();
      const result = await parseNar((async function* () { yield* chunks(nar, size); })(), cut.sink);
      expect(result).toEqual(whole);
      expect(cut.seen).toEqual(reference.seen);
    }
  });

  it('reads the source no further ahead than the sink has taken, and goes on when a sink returns without reading', async () => {
    const big = Buffer.alloc(200_000, 3);
    const nar = narOf({ type: 'directory', entries: [['a', { type: 'regular', contents: big }], ['b', { type: 'regular', contents: 'bee' }]] });
    let read = 0;
    const source = (): AsyncIterable<Uint8Array> =>
      (async function* () {
        for (const c of chunks(nar, 1000)) {
          read++;
          yield c;
        }
      })();
    const ahead: number[] = [];
    let taken = 0;
    const slow: NarSink = {
      ...slowSink().sink,
      async file(_p, _e, _s, contents) {
        for await (const _c of contents) {
          taken++;
          ahead.push(read - taken);
          await tick();
        }
      },
    };
    await parseNar(source(), slow);
    expect(taken).toBeGreaterThan(190);
    // One chunk's contents are queued while the sink works on the last piece it took.
    expect(Math.max(...ahead)).toBeLessThanOrEqual(2);

    const seen: string[] = [];
    const skipping: NarSink = {
      ...slowSink().sink,
      async file(p) {
        seen.push(p.map((n) => n.toString()).join('/'));
      },
    };
    read = 0;
    expect((await parseNar(source(), skipping)).narSize).toBe(nar.length);
    expect(seen).toEqual(['a', 'b']);
  });

  it('rejects with the sink’s own error, and with the parser’s code for a broken archive', async () => {
    const nar = sampleNar();
    const boom = Object.assign(new Error('disk on fire'), { code: 'EIO' });
    const failing: NarSink = { ...slowSink().sink, file: async () => Promise.reject(boom) };
    await expect(parseNar((async function* () { yield* chunks(nar, 100); })(), failing)).rejects.toBe(boom);
    await expect(parseNar((async function* () { yield nar.subarray(0, nar.length - 9); })(), slowSink().sink)).rejects.toMatchObject({ code: 'FLOXK8S_NAR_TRUNCATED' });
    const trailing = Buffer.concat([nar, Buffer.alloc(8)]);
    await expect(parseNar((async function* () { yield trailing; })(), slowSink().sink)).rejects.toMatchObject({ code: 'FLOXK8S_NAR_TRAILING_DATA' });
  });
});
