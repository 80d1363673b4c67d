import { createReadStream } from 'node:fs';
import { createHash } from 'node:crypto';
import { createZstdDecompress } from 'node:zlib';
import { decompress } from './src/decompress.ts';
const f = process.argv[2]!; const mode = process.argv[3];
const t = performance.now(); let n = 0;
if (mode === 'raw') {
  for await (const c of createReadStream(f, { highWaterMark: 1 << 20 }).pipe(createZstdDecompress({ chunkSize: 1 << 20 }))) n += c.length;
} else if (mode === 'rawhash') {
  const h = createHash('sha256');
  for await (const c of createReadStream(f, { highWaterMark: 1 << 20 }).pipe(createZstdDecompress({ chunkSize: 1 << 20 }))) { n += c.length; h.update(c); }
} else {
  for await (const c of decompress('zstd', createReadStream(f, { highWaterMark: 1 << 20 }))) n += c.length;
}
const s = (performance.now() - t) / 1000;
console.log(mode, n, s.toFixed(2), (n / 1e6 / s).toFixed(0), 'MB/s');
