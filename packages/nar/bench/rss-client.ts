// Child of bench/rss.ts: fetch one NAR through BinaryCacheClient and report peak RSS.
import type * as ClientModule from '../src/client.ts';

// With --dist the built JavaScript is measured (what an app runs); otherwise the TypeScript
// sources, whose type stripping alone adds ~18 MB of RSS.
const [url, storePath, publicKey, dest] = process.argv.slice(2) as [string, string, string, string];
const mode = process.argv.includes('--dist') ? '--dist' : '';
const { BinaryCacheClient } = (await import(mode === '--dist' ? '../dist/index.js' : '../src/client.ts')) as typeof ClientModule;
// --low-memory: the smaller zstd buffers (32 KiB chunks, 1 MiB read-ahead); --zstd-chunk N / --read-ahead N set them.
const numberAfter = (name: string): number | undefined => {
  const i = process.argv.indexOf(name);
  return i >= 0 ? Number(process.argv[i + 1]) : undefined;
};
const decoders = process.argv.includes('--low-memory')
  ? { zstdChunkSize: 32 * 1024, zstdReadAhead: 1 << 20 }
  : { zstdChunkSize: numberAfter('--zstd-chunk'), zstdReadAhead: numberAfter('--read-ahead') };
const client = new BinaryCacheClient({ caches: [{ url }], trustedKeys: [publicKey], decoders });
let peakSampled = 0;
let peakArrayBuffers = 0;
let peakHeap = 0;
const sampler = setInterval(() => {
  const m = process.memoryUsage();
  peakSampled = Math.max(peakSampled, m.rss);
  peakArrayBuffers = Math.max(peakArrayBuffers, m.arrayBuffers);
  peakHeap = Math.max(peakHeap, m.heapTotal);
}, 20);
const started = performance.now();
const found = await client.narinfo(storePath);
const result = await client.fetchNar(found, dest);
const seconds = (performance.now() - started) / 1000;
clearInterval(sampler);
await client.close();
console.log(`fetched ${(result.narSize / 1e6).toFixed(0)} MB of NAR (${(result.fileSize / 1e6).toFixed(0)} MB zstd) in ${seconds.toFixed(1)} s = ${(result.narSize / 1e6 / seconds).toFixed(0)} MB/s`);
console.log(
  `client peak RSS (getrusage maxRSS): ${(process.resourceUsage().maxRSS / 1024).toFixed(0)} MB; sampled peaks: rss ${(peakSampled / 1e6).toFixed(0)} MB, ` +
    `array buffers ${(peakArrayBuffers / 1e6).toFixed(0)} MB, JS heap ${(peakHeap / 1e6).toFixed(0)} MB`,
);
