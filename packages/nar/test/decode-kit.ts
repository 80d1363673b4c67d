// What the in-process decoders' tests (liblzma.test.ts, libzstd.test.ts) share: input cut into
// chunks, output joined, and data that compresses but not trivially.
import { prng } from '@flox-k8s/hostile-nars';

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
