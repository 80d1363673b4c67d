import { startContainerd } from '../src/harness/containerd.ts';
const v = (process.argv[2] ?? '1.6') as '1.6';
let t = Date.now();
const h = await startContainerd({ version: v });
console.log('started', v, Date.now() - t, 'ms', h.paths.dir);
console.log((await h.ctr(['-n', 'k8s.io', 'images', 'ls'])).stdout);
t = Date.now();
await h.stop();
console.log('stopped', Date.now() - t);
