// `pnpm --filter @flox-k8s/shim run bundle`: bundle/<entry>.mjs for install-layout.
import { buildBundle } from '../src/install/bundle.ts';

const outputs = await buildBundle(new URL('../bundle', import.meta.url).pathname);
for (const file of outputs) process.stdout.write(`${file}\n`);
