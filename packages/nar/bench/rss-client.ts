// Child of bench/rss.ts: fetch one NAR through BinaryCacheClient and report peak RSS.
import { BinaryCacheClient } from '../src/client.ts';

const [url, storePath, publicKey, dest] = process.argv.slice(2) as [string, string, string, string];
const client = new BinaryCacheClient({ caches: [{ url }], trustedKeys: [publicKey] });
let peakSampled = 0;
const sampler = setInterval(() => {
  peakSampled = Math.max(peakSampled, process.memoryUsage().rss);
}, 50);
const started = performance.now();
const found = await client.narinfo(storePath);
const result = await client.fetchNar(found, dest);
const seconds = (performance.now() - started) / 1000;
clearInterval(sampler);
await client.close();
console.log(`fetched ${(result.narSize / 1e6).toFixed(0)} MB of NAR (${(result.fileSize / 1e6).toFixed(0)} MB zstd) in ${seconds.toFixed(1)} s = ${(result.narSize / 1e6 / seconds).toFixed(0)} MB/s`);
console.log(`client peak RSS (getrusage maxRSS): ${(process.resourceUsage().maxRSS / 1024).toFixed(0)} MB; sampled peak ${(peakSampled / 1e6).toFixed(0)} MB`);
