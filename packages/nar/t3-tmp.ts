import { createReadStream } from 'node:fs';
import { createHash } from 'node:crypto';
import { createZstdDecompress } from 'node:zlib';
const f = process.argv[2]!; const cs = Number(process.argv[3]); const hwm = Number(process.argv[4]); const hash = process.argv[5] === 'h';
const t = performance.now(); let n = 0; const h = createHash('sha256');
for await (const c of createReadStream(f, { highWaterMark: 1 << 20 }).pipe(createZstdDecompress({ chunkSize: cs, readableHighWaterMark: hwm } as any))) { n += c.length; if (hash) h.update(c); }
const s = (performance.now() - t) / 1000;
console.log(cs, hwm, hash, (n / 1e6 / s).toFixed(0), 'MB/s');
