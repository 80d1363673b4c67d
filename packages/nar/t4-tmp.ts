import { createReadStream } from 'node:fs';
import { unpackNar, hashNar } from './src/nar-unpack.ts';
import { removeTree } from './src/remove-tree.ts';
const f = process.argv[2]!; const mode = process.argv[3];
const t = performance.now();
const src = createReadStream(f, { highWaterMark: 1 << 20 });
const r = mode === 'hash' ? await hashNar(src) : await unpackNar(src, '/tmp/nardev/unpack-bench');
const s = (performance.now() - t) / 1000;
console.log('plain', mode, r.narSize, s.toFixed(2), (r.narSize / 1e6 / s).toFixed(0), 'MB/s');
if (mode !== 'hash') { const t2 = performance.now(); await removeTree('/tmp/nardev/unpack-bench'); console.log('rm', ((performance.now() - t2)/1000).toFixed(2)); }
