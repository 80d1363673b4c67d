// What starting a decoder subprocess costs the calling thread, by the resident memory of the
// process that spawns it (libuv forks, and a fork copies the page tables of everything resident).
// Why fetchNar decodes small xz NARs in-process (src/decompress.ts).
//   node bench/spawn-cost.ts [MB of resident memory to hold, several: 0 100 400]
import { spawn } from 'node:child_process';

const sizes = process.argv.slice(2).map(Number);
const held: Buffer[] = [];
for (const mb of sizes.length > 0 ? sizes : [0, 100, 400]) {
  while (held.length < mb) held.push(Buffer.alloc(1 << 20, 1));
  const times: number[] = [];
  for (let i = 0; i < 31; i++) {
    const t = performance.now();
    const child = spawn('xz', ['-dc'], { stdio: ['pipe', 'pipe', 'pipe'] });
    times.push(performance.now() - t);
    child.stdin.end();
    await new Promise((resolve) => child.on('close', resolve));
  }
  times.sort((a, b) => a - b);
  const rss = process.memoryUsage().rss / 1e6;
  console.log(`RSS ${rss.toFixed(0)} MB: spawn() blocks the caller for a median ${times[15]!.toFixed(2)} ms (max ${times[30]!.toFixed(2)} ms), 31 spawns`);
}
