// `pnpm --filter @flox-k8s/shim run bundle`: bundle/<entry>.mjs for install-layout.
import { buildBundle } from '@flox-k8s/shim-layout';
import { shimPrograms } from '../src/programs.ts';

const outputs = await buildBundle(new URL('../bundle', import.meta.url).pathname, shimPrograms);
for (const file of outputs) process.stdout.write(`${file}\n`);
