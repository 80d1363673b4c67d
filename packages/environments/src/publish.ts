import { mkdir, readFile, rename, writeFile } from 'node:fs/promises';
import { dirname, join } from 'node:path';
import { lockfileDigest, parseLockfile } from '@flox-k8s/lockfile';
import { digestPath, generationPath, livePath, parseGenerationPointer } from './layout.ts';

export interface PublishedEnvironment {
  generation: number;
  digest: string;
}

/**
 * Publishes a lockfile as the next generation of `owner/name` in a directory with
 * the hub layout, then moves the live pointer to it. For tests, the demo and
 * air-gapped nodes; a hub server can serve the same directory over HTTP.
 */
export async function publishEnvironment(base: string, owner: string, name: string, bytes: Uint8Array): Promise<PublishedEnvironment> {
  parseLockfile(bytes);
  const digest = lockfileDigest(bytes);
  let generation = 1;
  try {
    generation = parseGenerationPointer(await readFile(join(base, livePath(owner, name)), 'utf8'), 'live') + 1;
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code !== 'ENOENT') throw error;
  }
  await atomicWrite(join(base, generationPath(owner, name, generation)), bytes);
  await atomicWrite(join(base, digestPath(owner, name, digest)), `${generation}\n`);
  await atomicWrite(join(base, livePath(owner, name)), `${generation}\n`);
  return { generation, digest };
}

async function atomicWrite(path: string, data: string | Uint8Array): Promise<void> {
  await mkdir(dirname(path), { recursive: true });
  const tmp = `${path}.tmp-${process.pid}`;
  await writeFile(tmp, data);
  await rename(tmp, path);
}
