// What the in-process decoders' tests (liblzma.test.ts, libzstd.test.ts, decompress.test.ts,
// owned-chunks.test.ts) share: input cut into chunks, output joined, data that compresses but not
// trivially, and the system's libzstd.
import { prng } from '@flox-k8s/hostile-nars';
import { libzstd, type LibzstdBinding } from '../src/libzstd.ts';

/** `bytes` as an async stream of `size`-byte chunks (an odd size by default, so chunks cut headers). */
export async function* chunked(bytes: Uint8Array, size: number = 4096 + 97): AsyncGenerator<Uint8Array> {
  for (let i = 0; i < bytes.length; i += size) yield bytes.subarray(i, i + size);
}

/** Everything `source` yields, joined. */
export async function collect(source: AsyncIterable<Uint8Array>): Promise<Buffer> {
  const parts: Uint8Array[] = [];
  for await (const c of source) parts.push(c);
  return Buffer.concat(parts);
}

/** Compressible but varied data: runs of zeros, text and noise. */
export function sample(size: number, seed = 3): Buffer {
  const rng = prng(seed);
  const out = Buffer.alloc(size);
  for (let i = 0; i < size; i++) out[i] = i % 50_000 < 9000 ? 0 : i % 4 === 0 ? Math.floor(rng() * 256) : 97 + (i % 23);
  return out;
}

/** The system's libzstd: it loads wherever this package's tests run (CI installs zstd). */
export function libzstdBinding(): LibzstdBinding {
  const binding = libzstd();
  if (binding instanceof Error) throw binding;
  return binding;
}
