import { execFileSync } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { describe, expect, it } from 'vitest';
import { decompress, type DecodeHint, type DecoderOptions } from './decompress.ts';
import { ZSTD_WINDOW_LOG_MAX } from './decode-limits.ts';
import { decodeZstdWhole } from './zstd-frames.ts';
import { libzstdBinding } from '../test/decode-kit.ts';
import { prng, withZstdWindow } from '@flox-k8s/hostile-nars';

async function collect(compression: string, input: Buffer, opts?: DecoderOptions, chunk = 4096, hint?: DecodeHint): Promise<Buffer> {
  const source = (async function* () {
    for (let i = 0; i < input.length; i += chunk) yield input.subarray(i, i + chunk);
  })();
  const parts: Uint8Array[] = [];
  for await (const c of decompress(compression, source, opts, hint)) parts.push(c);
  return Buffer.concat(parts);
}

const zstd = (data: Buffer, ...args: string[]): Buffer => execFileSync('zstd', ['-c', '-q', ...args], { input: data });

/** Compressible but varied data: runs (RLE blocks), text and noise. */
function sample(size: number): Buffer {
  const rng = prng(7);
  const out = Buffer.alloc(size);
  for (let i = 0; i < size; i++) out[i] = i % 65536 < 20000 ? 0 : i % 3 === 0 ? Math.floor(rng() * 256) : 97 + (i % 26);
  return out;
}

function skippableFrame(payload: Buffer): Buffer {
  const head = Buffer.alloc(8);
  head.writeUInt32LE(0x184d2a5e, 0);
  head.writeUInt32LE(payload.length, 4);
  return Buffer.concat([head, payload]);
}

describe('decompress', () => {
  const data = sample(700_000);

  it('xz auto without liblzma: a NAR up to xzInProcessMaxNarSize decodes in WASM, a larger one in the subprocess', async () => {
    const xz = execFileSync('xz', ['-c', '-6'], { input: data });
    // `true` runs (so 'auto' would pick it) but decodes nothing: empty output shows the subprocess ran.
    const opts: DecoderOptions = { xzCommand: 'true', xzInProcessMaxNarSize: data.length, xzLibrary: '/nonexistent/liblzma.so.5' };
    expect((await collect('xz', xz, opts, 4096, { narSize: data.length })).equals(data)).toBe(true);
    expect(await collect('xz', xz, opts, 4096, { narSize: data.length + 1 })).toHaveLength(0);
    // Without a size the subprocess is used, as before.
    expect(await collect('xz', xz, opts)).toHaveLength(0);
    expect((await collect('xz', xz, { xzLibrary: '/nonexistent/liblzma.so.5' }, 4096, { narSize: data.length })).equals(data)).toBe(true);
  });

  it('xz auto with liblzma: every size decodes through it, never the subprocess', async () => {
    const xz = execFileSync('xz', ['-c', '-6'], { input: data });
    const opts: DecoderOptions = { xzCommand: 'true', xzInProcessMaxNarSize: 1024 };
    for (const hint of [{ narSize: 1000 }, { narSize: data.length }, {}]) expect((await collect('xz', xz, opts, 4096, hint)).equals(data)).toBe(true);
  });

  it('xz and bzip2: subprocess and the WASM xz fallback agree with the input', async () => {
    const xz = execFileSync('xz', ['-c', '-6'], { input: data });
    expect((await collect('xz', xz, { xz: 'subprocess' })).equals(data)).toBe(true);
    expect((await collect('xz', xz, { xz: 'wasm' })).equals(data)).toBe(true);
    expect((await collect('xz', xz)).equals(data)).toBe(true);
    const bz = execFileSync('bzip2', ['-c'], { input: data });
    expect((await collect('bzip2', bz)).equals(data)).toBe(true);
    expect((await collect('none', data)).equals(data)).toBe(true);
  });

  it.each([
    ['xz', () => execFileSync('xz', ['-c'], { input: randomBytes(100_000) }).subarray(0, 5000), { xz: 'subprocess' }],
    ['xz', () => execFileSync('xz', ['-c'], { input: randomBytes(100_000) }).subarray(0, 5000), { xz: 'wasm' }],
    ['xz', () => randomBytes(5000), { xz: 'wasm' }],
    ['bzip2', () => randomBytes(5000), {}],
  ] as const)('%s: corrupt or truncated input fails with FLOXK8S_DECOMPRESS_FAILED', async (compression, make, opts) => {
    await expect(collect(compression, make(), opts as DecoderOptions)).rejects.toMatchObject({ code: 'FLOXK8S_DECOMPRESS_FAILED' });
  });

  describe.each([
    ['zlib', { zstd: 'zlib' }, undefined],
    ['libzstd', { zstd: 'libzstd' }, libzstdBinding()],
  ] as const)('zstd through %s', (_name, opts: DecoderOptions, binding) => {
    it('zstd: one frame, with and without checksum, any chunking', async () => {
      for (const args of [[], ['--no-check'], ['-19'], ['--long=27']]) {
        const z = zstd(data, ...args);
        for (const chunk of [4096, 1 << 20]) expect((await collect('zstd', z, opts, chunk)).equals(data)).toBe(true);
      }
      // Byte-sized chunks split every header; a small input keeps this fast.
      const small = data.subarray(0, 30_000);
      expect((await collect('zstd', zstd(small), opts, 1)).equals(small)).toBe(true);
    });

    it('zstd: many frames, skippable frames, an empty frame and tiny single-segment frames', async () => {
      const parts = [data.subarray(0, 1), data.subarray(1, 300_000), Buffer.alloc(0), data.subarray(300_000)];
      const z = Buffer.concat([
        skippableFrame(Buffer.from('metadata')),
        ...parts.map((p, i) => zstd(p, ...(i % 2 === 0 ? ['--no-check'] : []))),
        skippableFrame(Buffer.alloc(0)),
      ]);
      for (const chunk of [777, 1 << 20]) expect((await collect('zstd', z, opts, chunk)).equals(data)).toBe(true);
      const tiny = Buffer.concat([skippableFrame(Buffer.from('m')), zstd(data.subarray(0, 5000)), zstd(data.subarray(5000, 9000), '--no-check')]);
      expect((await collect('zstd', tiny, opts, 1)).equals(data.subarray(0, 9000))).toBe(true);
    });

    it('zstd whole (decodeZstdWhole): the same frames in one buffer, bounded by the expected size', async () => {
      const parts = [data.subarray(0, 1), data.subarray(1, 300_000), Buffer.alloc(0), data.subarray(300_000)];
      const z = Buffer.concat([
        skippableFrame(Buffer.from('metadata')),
        ...parts.map((p, i) => zstd(p, ...(i % 2 === 0 ? ['--no-check'] : []))),
        skippableFrame(Buffer.alloc(0)),
      ]);
      const tooLarge = (): Error => Object.assign(new Error('too large'), { code: 'TEST_TOO_LARGE' });
      expect(Buffer.concat(await decodeZstdWhole(z, data.length, tooLarge, binding)).equals(data)).toBe(true);
      // One byte less than the frames hold: the limit trips inside the last frame.
      await expect(decodeZstdWhole(z, data.length - 1, tooLarge, binding)).rejects.toMatchObject({ code: 'TEST_TOO_LARGE' });
      await expect(decodeZstdWhole(zstd(data), 1000, tooLarge, binding)).rejects.toMatchObject({ code: 'TEST_TOO_LARGE' });
      expect(await decodeZstdWhole(Buffer.alloc(0), 10, tooLarge, binding)).toEqual([]);
      // A flipped byte inside a frame fails its checksum (the zstd CLI writes one by default).
      const flipped = Buffer.from(zstd(data));
      flipped[flipped.length >> 1]! ^= 0xff;
      for (const bad of [z.subarray(0, z.length - 100), z.subarray(0, 2), randomBytes(5000), Buffer.concat([zstd(data), Buffer.from([1, 2])]), flipped]) {
        await expect(decodeZstdWhole(bad, data.length * 2, tooLarge, binding)).rejects.toMatchObject({ code: 'FLOXK8S_DECOMPRESS_FAILED' });
      }
    });

    it('zstd: a frame declaring a window over 128 MiB fails, streamed and whole, saying why; one of 128 MiB decodes', async () => {
      const z = zstd(data);
      const tooLarge = (): Error => new Error('too large');
      const atLimit = withZstdWindow(z, ZSTD_WINDOW_LOG_MAX);
      expect((await collect('zstd', atLimit, opts)).equals(data)).toBe(true);
      expect(Buffer.concat(await decodeZstdWhole(atLimit, data.length, tooLarge, binding)).equals(data)).toBe(true);
      const refused = { code: 'FLOXK8S_DECOMPRESS_FAILED', message: expect.stringMatching(/declares a window larger than the 128 MiB a decoder may use/) };
      for (const windowLog of [ZSTD_WINDOW_LOG_MAX + 1, 31]) {
        const hostile = withZstdWindow(z, windowLog);
        await expect(collect('zstd', hostile, opts)).rejects.toMatchObject(refused);
        await expect(decodeZstdWhole(hostile, data.length, tooLarge, binding)).rejects.toMatchObject(refused);
      }
    });

    it('corrupt or truncated input fails with FLOXK8S_DECOMPRESS_FAILED, streamed and whole', async () => {
      const truncated = zstd(randomBytes(100_000)).subarray(0, 5000);
      const tooLarge = (): Error => new Error('too large');
      for (const bad of [truncated, randomBytes(5000), zstd(data).subarray(0, 3)]) {
        await expect(collect('zstd', bad, opts)).rejects.toMatchObject({ code: 'FLOXK8S_DECOMPRESS_FAILED' });
        await expect(decodeZstdWhole(bad, 200_000, tooLarge, binding)).rejects.toMatchObject({ code: 'FLOXK8S_DECOMPRESS_FAILED' });
      }
      // Every frame whole, then one cut inside its blocks.
      const cut = Buffer.concat([zstd(data.subarray(0, 1000)), zstd(data).subarray(0, 2000)]);
      await expect(collect('zstd', cut, opts)).rejects.toMatchObject({ code: 'FLOXK8S_DECOMPRESS_FAILED', message: expect.stringMatching(/truncated/) });
    });

    it('passes input errors through unchanged', async () => {
      const boom = new Error('socket hang up');
      const source = (async function* () {
        yield zstd(data).subarray(0, 100);
        throw boom;
      })();
      const run = async (): Promise<void> => {
        for await (const _ of decompress('zstd', source, opts));
      };
      await expect(run()).rejects.toBe(boom);
    });
  });

  it('rejects unknown compressions with FLOXK8S_COMPRESSION_UNSUPPORTED', () => {
    expect(() => decompress('br', (async function* () {})())).toThrow(expect.objectContaining({ code: 'FLOXK8S_COMPRESSION_UNSUPPORTED' }));
  });
});
