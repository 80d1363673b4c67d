import { execFileSync } from 'node:child_process';
import { describe, expect, it } from 'vitest';
import { withXzDictionary } from '@flox-k8s/hostile-nars';
import { chunked, collect, sample } from '../test/decode-kit.ts';
import { decodesOnCallingThread, decompress, takesDecoderSlot, type DecodeHint, type DecoderOptions } from './decompress.ts';
import { LIBLZMA_CHUNK, liblzma, liblzmaStatus } from './liblzma.ts';

const xz = (data: Buffer, ...args: string[]): Buffer => execFileSync('xz', ['-c', ...args], { input: data, maxBuffer: 256 << 20 });

const LIB: DecoderOptions = { xz: 'liblzma' };
const decode = (bytes: Uint8Array, chunk?: number, hint: DecodeHint = {}): Promise<Buffer> => collect(decompress('xz', chunked(bytes, chunk), LIB, hint));

describe('xz through liblzma (koffi, on libuv\'s pool)', () => {
  const data = sample(3_000_000);

  it('loads the system liblzma, the library `xz` itself runs on', () => {
    const version = execFileSync('xz', ['--version']).toString().match(/liblzma (\S+)/)?.[1];
    expect(liblzmaStatus()).toEqual({ loaded: true, version });
    expect(liblzmaStatus('/nonexistent/liblzma.so.5')).toMatchObject({ loaded: false, reason: expect.stringContaining('/nonexistent/liblzma.so.5') });
  });

  it('decodes byte-exact: any chunking, presets, checks, empty and one-byte streams, several streams concatenated', async () => {
    for (const args of [['-6'], ['-0'], ['-9e'], ['--check=sha256'], ['--check=none'], ['--check=crc32', '-1']]) {
      expect((await decode(xz(data, ...args))).equals(data), args.join(' ')).toBe(true);
    }
    const compressed = xz(data);
    for (const chunk of [1 << 20, 65_536, 333]) expect((await decode(compressed, chunk)).equals(data)).toBe(true);
    const small = data.subarray(0, 20_000);
    expect((await decode(xz(small), 1)).equals(small)).toBe(true);
    expect(await decode(xz(Buffer.alloc(0)))).toHaveLength(0);
    expect((await decode(xz(Buffer.from('x')))).toString()).toBe('x');
    // Concatenated streams decode as `xz -dc` does.
    const two = Buffer.concat([xz(data.subarray(0, 1_000_000)), xz(data.subarray(1_000_000))]);
    expect((await decode(two)).equals(data)).toBe(true);
  });

  it('yields views of buffers of LIBLZMA_CHUNK, filled front to back, one view per call; a small NAR given whole is one buffer of its own', async () => {
    const big = sample(LIBLZMA_CHUNK * 2 + 12_345, 9);
    const views: Uint8Array[] = [];
    for await (const piece of decompress('xz', chunked(xz(big), 64 * 1024), LIB, { narSize: big.length })) views.push(piece);
    expect(Buffer.concat(views).equals(big)).toBe(true);
    // Several calls per buffer (input came 64 KiB at a time), each view starting where the previous ended.
    const buffers = [...new Set(views.map((v) => v.buffer))];
    expect(buffers.length).toBe(3);
    expect(views.length).toBeGreaterThan(buffers.length);
    for (const buffer of buffers) {
      const of = views.filter((v) => v.buffer === buffer);
      let at = 0;
      for (const v of of) {
        expect(v.byteOffset).toBe(at);
        at += v.byteLength;
      }
      expect(buffer.byteLength).toBe(LIBLZMA_CHUNK);
      // Every buffer but the last is filled to its end.
      if (buffer !== buffers.at(-1)) expect(at).toBe(LIBLZMA_CHUNK);
    }
    const small = data.subarray(0, 100_000);
    const compressedSmall = xz(small);
    const pieces: Uint8Array[] = [];
    for await (const piece of decompress('xz', chunked(compressedSmall, compressedSmall.length), LIB, { narSize: small.length })) pieces.push(piece);
    expect(pieces.map((p) => [p.byteOffset, p.byteLength, p.buffer.byteLength])).toEqual([[0, small.length, small.length]]);
  });

  it('many decodes at once, each byte-exact', async () => {
    const inputs = Array.from({ length: 12 }, (_, i) => sample(200_000 + i * 77_777, i + 1));
    const outs = await Promise.all(inputs.map((d) => decode(xz(d))));
    outs.forEach((out, i) => expect(out.equals(inputs[i] as Buffer)).toBe(true));
  });

  it('a dictionary of up to 64 MiB decodes; a larger one is FLOXK8S_DECOMPRESS_FAILED saying so', async () => {
    const small = data.subarray(0, 300_000);
    const compressed = xz(small);
    expect((await decode(withXzDictionary(compressed, 28))).equals(small)).toBe(true);
    for (const code of [30, 40]) {
      await expect(decode(withXzDictionary(compressed, code))).rejects.toMatchObject({
        code: 'FLOXK8S_DECOMPRESS_FAILED',
        message: expect.stringMatching(/LZMA_MEMLIMIT_ERROR.*dictionary larger than the 80 MiB/),
      });
    }
  });

  it('corrupt, truncated, trailing and foreign input is FLOXK8S_DECOMPRESS_FAILED with liblzma\'s verdict', async () => {
    const compressed = xz(data);
    const flipped = Buffer.from(compressed);
    const middle = Math.floor(flipped.length / 2);
    flipped.writeUInt8(flipped.readUInt8(middle) ^ 0x55, middle);
    const cases: Array<[Buffer, RegExp]> = [
      [flipped, /LZMA_DATA_ERROR/],
      [compressed.subarray(0, compressed.length - 100), /LZMA_BUF_ERROR/],
      [compressed.subarray(0, 20), /LZMA_BUF_ERROR/],
      [Buffer.concat([compressed, Buffer.from('trailing garbage')]), /LZMA_(DATA|FORMAT)_ERROR/],
      [Buffer.from('not xz at all, just text'), /LZMA_FORMAT_ERROR/],
      [Buffer.alloc(0), /LZMA_BUF_ERROR/],
    ];
    for (const [bytes, verdict] of cases) {
      await expect(decode(bytes)).rejects.toMatchObject({ code: 'FLOXK8S_DECOMPRESS_FAILED', message: expect.stringMatching(verdict) });
    }
  });

  it('an input error passes through as it is, not blamed on the decoder', async () => {
    const failure = Object.assign(new Error('connection reset'), { code: 'TEST_INPUT' });
    const compressed = xz(data);
    async function* failing(): AsyncGenerator<Uint8Array> {
      yield compressed.subarray(0, 100_000);
      throw failure;
    }
    await expect(collect(decompress('xz', failing(), LIB))).rejects.toBe(failure);
  });

  it('a consumer that stops while a call runs ends the decode cleanly, and the input with it', async () => {
    const compressed = xz(sample(LIBLZMA_CHUNK * 3, 5));
    for (let round = 0; round < 20; round++) {
      let inputEnded = false;
      async function* source(): AsyncGenerator<Uint8Array> {
        try {
          yield* chunked(compressed, 1 << 20);
        } finally {
          inputEnded = true;
        }
      }
      for await (const piece of decompress('xz', source(), LIB)) {
        expect(piece.length).toBeGreaterThan(0);
        break;
      }
      expect(inputEnded).toBe(true);
    }
    // The decoder still works afterwards.
    expect((await decode(xz(data))).equals(data)).toBe(true);
  });

  it('without the library: xz \'liblzma\' is FLOXK8S_DECOMPRESS_FAILED naming it; \'auto\' falls back to the other decoders', async () => {
    const missing = '/nonexistent/liblzma.so.5';
    expect(liblzma(missing)).toBeInstanceOf(Error);
    const compressed = xz(data);
    await expect(collect(decompress('xz', chunked(compressed), { xz: 'liblzma', xzLibrary: missing }))).rejects.toMatchObject({
      code: 'FLOXK8S_DECOMPRESS_FAILED',
      message: expect.stringContaining(`cannot decode xz with ${missing}`),
    });
    expect((await collect(decompress('xz', chunked(compressed), { xzLibrary: missing }, { narSize: data.length }))).equals(data)).toBe(true);
    // A library without lzma_version_number (libc) is refused, and 'auto' still decodes.
    expect(liblzma('libc.so.6')).toBeInstanceOf(Error);
    expect((await collect(decompress('xz', chunked(compressed), { xzLibrary: 'libc.so.6' }, { narSize: data.length }))).equals(data)).toBe(true);
  });

  it('slots and the calling thread: large xz NARs take a slot; small ones run on the calling thread only in WASM', () => {
    const opts: DecoderOptions = { xzInProcessMaxNarSize: 1000 };
    expect(takesDecoderSlot('xz', opts, 1001)).toBe(true);
    expect(takesDecoderSlot('xz', opts, 1000)).toBe(false);
    expect(takesDecoderSlot('xz', opts)).toBe(true);
    expect(takesDecoderSlot('zstd', opts, 1 << 30)).toBe(false);
    expect(takesDecoderSlot('bzip2', opts, 1)).toBe(true);
    expect(decodesOnCallingThread('xz', opts, 10)).toBe(false);
    expect(decodesOnCallingThread('xz', { ...opts, xzLibrary: '/nonexistent/liblzma.so.5' }, 10)).toBe(true);
    expect(decodesOnCallingThread('xz', { ...opts, xzLibrary: '/nonexistent/liblzma.so.5' }, 1001)).toBe(false);
    expect(decodesOnCallingThread('xz', { xz: 'wasm' }, 1 << 30)).toBe(true);
  });
});
