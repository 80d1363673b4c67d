import { openSync, writeSync } from 'node:fs';
import { dumpNar } from './src/nar-dump.ts';
const fd = openSync('/dev/null', 'w');
for (let i = 0; i < 5; i++) {
  const c = process.cpuUsage();
  for await (const chunk of dumpNar('/tmp/nardev/dtree')) writeSync(fd, chunk as Buffer);
  const d = process.cpuUsage(c); console.log('cpu', ((d.user + d.system) / 1e6).toFixed(3), 'user', (d.user / 1e6).toFixed(3));
}
