import { createWriteStream } from 'node:fs';
import { pipeline } from 'node:stream/promises';
import { dumpNar } from './src/nar-dump.ts';
const mode = process.argv[2];
for (let i = 0; i < 3; i++) {
  const t = performance.now();
  if (mode === 'drain') { let n = 0; for await (const c of dumpNar('/tmp/nardev/dtree')) n += c.length; }
  else await pipeline(dumpNar('/tmp/nardev/dtree'), createWriteStream('/dev/null'));
  console.log(mode, ((performance.now() - t) / 1000).toFixed(3));
}
