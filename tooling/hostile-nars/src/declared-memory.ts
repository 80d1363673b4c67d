import { crc32 } from 'node:zlib';

/**
 * `compressed` (one xz stream whose first block header carries the LZMA2 filter, as `xz -c` writes it)
 * with that filter declaring the dictionary of `code` instead (2^(code/2+12) bytes for even codes; 40:
 * 4 GiB - 1), its block header's CRC32 mended. What a hostile cache can send for a few kB: decoding
 * needs no more dictionary than the encoder used, so the bytes still decode wherever a decoder accepts
 * the declared size, and a decoder without a memory limit touches as much of it as it outputs.
 */
export function withXzDictionary(compressed: Uint8Array, code: number): Buffer {
  const out = Buffer.from(compressed);
  // Stream header: 12 bytes; the block header's first byte is its size / 4 - 1.
  const headerSize = ((out[12] ?? 0) + 1) * 4;
  const header = out.subarray(12, 12 + headerSize);
  const flags = header[1] ?? 0;
  let at = 2;
  // Optional compressed and uncompressed sizes (multibyte integers).
  if ((flags & 0x40) !== 0) while (((header[at++] ?? 0) & 0x80) !== 0);
  if ((flags & 0x80) !== 0) while (((header[at++] ?? 0) & 0x80) !== 0);
  if ((flags & 0x03) !== 0 || header[at] !== 0x21 || header[at + 1] !== 1) {
    throw new Error('withXzDictionary: the first block does not hold the LZMA2 filter alone');
  }
  header[at + 2] = code;
  header.writeUInt32LE(crc32(header.subarray(0, headerSize - 4)), headerSize - 4);
  return out;
}

/**
 * `compressed` (one zstd frame without a single-segment flag, as `zstd -c` writes from a pipe) with
 * its window descriptor declaring a window of 2^`windowLog` bytes (10-41). The frame header carries no
 * checksum, so nothing else changes; a decoder that accepts the window decodes the same bytes.
 */
export function withZstdWindow(compressed: Uint8Array, windowLog: number): Buffer {
  const out = Buffer.from(compressed);
  if (out.readUInt32LE(0) !== 0xfd2fb528 || ((out[4] ?? 0) & 0x20) !== 0) {
    throw new Error('withZstdWindow: not a zstd frame with a window descriptor');
  }
  // Window descriptor: exponent (windowLog - 10) in the top five bits, mantissa 0.
  out[5] = (windowLog - 10) << 3;
  return out;
}
