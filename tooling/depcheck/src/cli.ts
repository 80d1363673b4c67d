// `pnpm --filter @flox-k8s/depcheck depcheck`: every broken dependency rule of the repository, one per line.
import { fileURLToPath } from 'node:url';
import { checkDependencies } from './check.ts';

const root = fileURLToPath(new URL('../../../', import.meta.url));
const violations = await checkDependencies(root);
for (const v of violations) process.stdout.write(`${v.rule}: ${v.from} -> ${v.to}\n`);
process.stdout.write(`${violations.length} violation${violations.length === 1 ? '' : 's'}\n`);
process.exitCode = violations.length === 0 ? 0 : 1;
