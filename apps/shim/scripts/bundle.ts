// `pnpm --filter @flox-k8s/shim run bundle`: bundle/<entry>.mjs for install-layout.
import { join } from 'node:path';
import { FRONT_BINARY, buildBundle, compileFront } from '@flox-k8s/shim-layout';
import { shimPrograms } from '../src/programs.ts';

const dir = new URL('../bundle', import.meta.url).pathname;
const outputs = await buildBundle(dir, shimPrograms);
// The compiled runc front, static: a layout copies it as libexec/flox-k8s/runc.
outputs.push(await compileFront(shimPrograms.frontSource as string, join(dir, FRONT_BINARY)));
for (const file of outputs) process.stdout.write(`${file}\n`);
