// pnpm --filter @flox-k8s/node-agent run manifests: regenerate deploy/ from src/deploy/manifests.ts.
import { writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { renderDeploy } from '../src/deploy/render.ts';

const dir = join(import.meta.dirname, '..', 'deploy');
for (const [file, text] of Object.entries(renderDeploy())) {
  await writeFile(join(dir, file), text);
  process.stdout.write(`wrote deploy/${file}\n`);
}
