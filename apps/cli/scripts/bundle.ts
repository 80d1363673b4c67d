// `pnpm --filter @flox-k8s/cli run bundle`: bundle/flox-k8s.mjs, the package's bin.
import { bundleCli } from '../src/bundle.ts';

process.stdout.write(`${await bundleCli()}\n`);
