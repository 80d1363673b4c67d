// pnpm --filter @flox-k8s/node-agent run manifests: regenerate deploy/ from src/deploy/manifests.ts.
import { mkdir, writeFile } from 'node:fs/promises';
import { dirname, join } from 'node:path';
import { renderDeploy } from '../src/deploy/render.ts';

const dir = join(import.meta.dirname, '..', 'deploy');
for (const [file, text] of Object.entries(renderDeploy())) {
  await mkdir(dirname(join(dir, file)), { recursive: true });
  await writeFile(join(dir, file), text);
  process.stdout.write(`wrote deploy/${file}\n`);
}
