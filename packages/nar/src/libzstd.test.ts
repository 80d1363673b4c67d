import { execFileSync } from 'node:child_process';
import { setTimeout as sleep } from 'node:timers/promises';
import { describe, expect, it } from 'vitest';
import { withZstdWindow } from '@flox-k8s/hostile-nars';
import { chunked, collect, libzstdBinding, sample } from '../test/decode-kit.ts';
import { decompress, zstdDecoder, type DecodeHint, type DecoderOptions } from './decompress.ts';
import { ZSTD_WINDOW_LOG_MAX } from './decode-limits.ts';
import { LIBZSTD_CHUNK, libzstdStatus } from './libzstd.ts';
import { decodeZstdWhole } from './zstd-frames.ts';

const zstd = (data: Buffer, ...args: string[]): Buffer => execFileSync('zstd', ['-c', '-q', ...args], { input: data, maxBuffer: 256 << 20 });

const LIB: DecoderOptions = { zstd: 'libzstd' };
const decode = (bytes: Uint8Array, chunk?: number, hint: DecodeHint = {}): Promise<Buffer> => collect(decompress('zstd', chunked(bytes, chunk), LIB, hint));
const decodeAll = (inputs: Buffer[]): Promise<Buffer[]> => Promise.all(inputs.map((z) => decode(z, 8192)));


describe("zstd through libzstd (koffi, on libuv's pool)", () => {
  const data = sample(3_000_000);

  it('loads the system libzstd, the library `zstd` itself runs on', () => {
    const version = execFileSync('zstd', ['--version']).toString().match(/v(\d+\.\d+\.\d+)/)?.[1];
    expect(libzstdStatus()).toEqual({ loaded: true, version });
    expect(libzstdStatus('/nonexistent/libzstd.so.1')).toMatchObject({ loaded: false, reason: expect.stringContaining('/nonexistent/libzstd.so.1') });
    // A library without ZSTD_versionNumber (libc) is refused.
    expect(libzstdStatus('libc.so.6')).toMatchObject({ loaded: false });
  });

  it('yields views of buffers of the chunk size, filled front to back; a NAR smaller than a chunk fills one buffer of its size', async () => {
    const big = sample(LIBZSTD_CHUNK * 2 + 12_345, 9);
    const views: Uint8Array[] = [];
    for await (const piece of decompress('zstd', chunked(zstd(big), 64 * 1024), LIB, { narSize: big.length })) views.push(piece);
    expect(Buffer.concat(views).equals(big)).toBe(true);
    const buffers = [...new Set(views.map((v) => v.buffer))];
    expect(buffers.length).toBe(3);
    for (const buffer of buffers) {
      let at = 0;
      for (const v of views.filter((w) => w.buffer === buffer)) {
        expect(v.byteOffset).toBe(at);
        at += v.byteLength;
      }
      expect(buffer.byteLength).toBe(LIBZSTD_CHUNK);
      if (buffer !== buffers.at(-1)) expect(at).toBe(LIBZSTD_CHUNK);
    }
    const small = data.subarray(0, 100_000);
    const pieces: Uint8Array[] = [];
    for await (const piece of decompress('zstd', chunked(zstd(small), 1 << 20), LIB, { narSize: small.length })) pieces.push(piece);
    expect(pieces.map((p) => [p.byteOffset, p.byteLength, p.buffer.byteLength])).toEqual([[0, small.length, small.length]]);
  });

  it('decodes byte-exact at every level, with long-distance matching, any chunking, empty and one-byte streams', async () => {
    for (const args of [['-1'], ['-19'], ['--no-check'], ['--long=27', '-3'], ['--ultra', '-22']]) {
      expect((await decode(zstd(data, ...args))).equals(data), args.join(' ')).toBe(true);
    }
    for (const chunk of [1 << 20, 65_536, 333, 1]) {
      const slice = chunk === 1 ? data.subarray(0, 20_000) : data;
      expect((await decode(zstd(slice), chunk)).equals(slice)).toBe(true);
    }
    expect(await decode(zstd(Buffer.alloc(0)))).toHaveLength(0);
    expect(await decode(Buffer.alloc(0))).toHaveLength(0);
    expect((await decode(zstd(Buffer.from('x')))).toString()).toBe('x');
  });

  it('many decodes at once, each byte-exact, each on a context of its own, every context freed', async () => {
    const lib = libzstdBinding();
    const inputs = Array.from({ length: 12 }, (_, i) => sample(200_000 + i * 77_777, i + 1));
    const started = decodeAll(inputs.map((d) => zstd(d)));
    // All twelve are under way at once.
    await sleep(0);
    expect(lib.contexts).toBe(12);
    const outs = await started;
    outs.forEach((out, i) => expect(out.equals(inputs[i] as Buffer)).toBe(true));
    expect(lib.contexts).toBe(0);
  });

  it('a frame declaring a window of 128 MiB decodes; a larger one is refused, saying why', async () => {
    const z = zstd(data);
    expect((await decode(withZstdWindow(z, ZSTD_WINDOW_LOG_MAX))).equals(data)).toBe(true);
    for (const windowLog of [ZSTD_WINDOW_LOG_MAX + 1, 31]) {
      await expect(decode(withZstdWindow(z, windowLog))).rejects.toMatchObject({
        code: 'FLOXK8S_DECOMPRESS_FAILED',
        message: expect.stringMatching(/Frame requires too much memory for decoding; the NAR's zstd frame declares a window larger than the 128 MiB/),
      });
    }
    expect(libzstdBinding().contexts).toBe(0);
  });

  it("corrupt, truncated, trailing and foreign input is FLOXK8S_DECOMPRESS_FAILED with libzstd's verdict, and its context is freed", async () => {
    const compressed = zstd(data);
    const flipped = Buffer.from(compressed);
    const middle = Math.floor(flipped.length / 2);
    flipped.writeUInt8(flipped.readUInt8(middle) ^ 0x55, middle);
    const cases: Array<[Buffer, RegExp]> = [
      [flipped, /libzstd could not decode the stream: (Data corruption detected|Restored data doesn't match checksum)/],
      [compressed.subarray(0, compressed.length - 100), /truncated/],
      [compressed.subarray(0, 3), /truncated/],
      [Buffer.concat([compressed, Buffer.from('trailing garbage')]), /Unknown frame descriptor/],
      [Buffer.from('not zstd at all, just text'), /Unknown frame descriptor/],
    ];
    for (const [bytes, verdict] of cases) {
      await expect(decode(bytes)).rejects.toMatchObject({ code: 'FLOXK8S_DECOMPRESS_FAILED', message: expect.stringMatching(verdict) });
      // And the next NAR decodes.
      expect((await decode(compressed)).equals(data)).toBe(true);
    }
    expect(libzstdBinding().contexts).toBe(0);
  });

  it('whole: one call into one buffer cut to size, bounded by the expected size, the window refused as streamed', async () => {
    const lib = libzstdBinding();
    const tooLarge = (): Error => Object.assign(new Error('too large'), { code: 'TEST_TOO_LARGE' });
    const z = zstd(data);
    const parts = await decodeZstdWhole(z, data.length, tooLarge, lib);
    expect(parts).toHaveLength(1);
    expect(parts[0]!.equals(data)).toBe(true);
    expect(parts[0]!.buffer.byteLength).toBe(data.length);
    await expect(decodeZstdWhole(z, data.length - 1, tooLarge, lib)).rejects.toMatchObject({ code: 'TEST_TOO_LARGE' });
    await expect(decodeZstdWhole(z, 10, tooLarge, lib)).rejects.toMatchObject({ code: 'TEST_TOO_LARGE' });
    // The window is refused before any decoding (one-shot decoding would not need it, the streamed path refuses it).
    await expect(decodeZstdWhole(withZstdWindow(z, ZSTD_WINDOW_LOG_MAX + 1), data.length, tooLarge, lib)).rejects.toMatchObject({
      code: 'FLOXK8S_DECOMPRESS_FAILED',
      message: expect.stringMatching(/declares a window of 268435456 bytes/),
    });
    expect(Buffer.concat(await decodeZstdWhole(withZstdWindow(z, ZSTD_WINDOW_LOG_MAX), data.length, tooLarge, lib)).equals(data)).toBe(true);
    expect(lib.contexts).toBe(0);
  });

  it('an input error passes through as it is, not blamed on the decoder', async () => {
    const failure = Object.assign(new Error('connection reset'), { code: 'TEST_INPUT' });
    const compressed = zstd(data);
    async function* failing(): AsyncGenerator<Uint8Array> {
      yield compressed.subarray(0, 100_000);
      throw failure;
    }
    await expect(collect(decompress('zstd', failing(), LIB))).rejects.toBe(failure);
    expect(libzstdBinding().contexts).toBe(0);
  });

  it('a consumer that stops while a call runs ends the decode cleanly, and the input with it', async () => {
    const compressed = zstd(sample(LIBZSTD_CHUNK * 3, 5));
    for (let round = 0; round < 20; round++) {
      let inputEnded = false;
      async function* source(): AsyncGenerator<Uint8Array> {
        try {
          yield* chunked(compressed, 1 << 20);
        } finally {
          inputEnded = true;
        }
      }
      for await (const piece of decompress('zstd', source(), LIB)) {
        expect(piece.length).toBeGreaterThan(0);
        break;
      }
      expect(inputEnded).toBe(true);
    }
    expect(libzstdBinding().contexts).toBe(0);
    expect((await decode(zstd(data))).equals(data)).toBe(true);
  });

  it("without the library: zstd 'libzstd' is FLOXK8S_DECOMPRESS_FAILED naming it; 'auto' falls back to zlib", async () => {
    const missing = '/nonexistent/libzstd.so.1';
    const compressed = zstd(data);
    await expect(collect(decompress('zstd', chunked(compressed), { zstd: 'libzstd', zstdLibrary: missing }))).rejects.toMatchObject({
      code: 'FLOXK8S_DECOMPRESS_FAILED',
      message: expect.stringContaining(`cannot decode zstd with ${missing}`),
    });
    expect(zstdDecoder({ zstdLibrary: missing })).toBeUndefined();
    expect(zstdDecoder({ zstd: 'zlib' })).toBeUndefined();
    expect(zstdDecoder({})).toBe(libzstdBinding());
    expect((await collect(decompress('zstd', chunked(compressed), { zstdLibrary: missing }))).equals(data)).toBe(true);
    expect((await collect(decompress('zstd', chunked(compressed), { zstdLibrary: 'libc.so.6' }))).equals(data)).toBe(true);
  });
});
