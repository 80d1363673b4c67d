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
