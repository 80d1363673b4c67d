import { randomBytes } from 'node:crypto';
import { mkdir, readFile, readdir, rename, rm, writeFile } from 'node:fs/promises';
import { dirname, join } from 'node:path';
import { lockfileDigest, parseLockfile } from '@flox-k8s/lockfile';
import { PublishFailedError } from './errors.ts';
import { digestPath, generationPath, livePath, parseGenerationPointer } from './layout.ts';
import type { PublishSbomOptions } from './publish-sbom.ts';

export type { PublishSbomOptions } from './publish-sbom.ts';

export interface PublishedEnvironment {
  generation: number;
  digest: string;
  /** SBOM files written beside `manifest.lock` (`sbom.<system>.cdx.json`, `sbom.<system>.spdx.json`), sorted; empty without `sbom`. */
  sboms: string[];
}

export interface PublishOptions {
  /**
   * Also write the generation's SBOMs (CycloneDX 1.6 and SPDX 2.3, one per system) beside
   * its `manifest.lock`, from the verified narinfos of its closure in these caches. When
   * the closure cannot be read, publish fails with `FLOXK8S_ENV_PUBLISH_SBOM_FAILED` and
   * writes nothing.
   */
  sbom?: PublishSbomOptions;
}

/**
 * Publishes a lockfile as the next generation of `owner/name` in a directory with the
 * hub layout, then moves the live pointer to it. The generation directory appears whole
 * (written aside, then renamed into place), then the by-digest and live pointers. For
 * tests, the demo and air-gapped nodes; a hub server can serve the same directory.
 */
export async function publishEnvironment(base: string, owner: string, name: string, bytes: Uint8Array, options: PublishOptions = {}): Promise<PublishedEnvironment> {
  const lock = parseLockfile(bytes);
  const digest = lockfileDigest(bytes);
  const generation = (await latestGeneration(base, owner, name)) + 1;
  const files = new Map<string, string | Uint8Array>([['manifest.lock', bytes]]);
  if (options.sbom !== undefined) {
    // Loaded only here: resolving environments never needs the SBOM writers.
    const { publishedSboms } = await import('./publish-sbom.ts');
    for (const [file, document] of await publishedSboms(lock, owner, name, generation, options.sbom)) files.set(file, document);
  }
  await writeGeneration(join(base, dirname(generationPath(owner, name, generation))), generation, files);
  await atomicWrite(join(base, digestPath(owner, name, digest)), `${generation}\n`);
  await atomicWrite(join(base, livePath(owner, name)), `${generation}\n`);
  return { generation, digest, sboms: [...files.keys()].filter((f) => f !== 'manifest.lock').sort() };
}

// The live generation, or a later one a crashed publish left complete but never made live.
async function latestGeneration(base: string, owner: string, name: string): Promise<number> {
  let latest = 0;
  try {
    latest = parseGenerationPointer(await readFile(join(base, livePath(owner, name)), 'utf8'), 'live');
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code !== 'ENOENT') throw error;
  }
  const generations = join(base, dirname(dirname(generationPath(owner, name, 1))));
  const entries = await readdir(generations).catch((error: NodeJS.ErrnoException) => (error.code === 'ENOENT' ? [] : Promise.reject(error)));
  for (const entry of entries) if (/^[1-9][0-9]{0,8}$/.test(entry)) latest = Math.max(latest, Number(entry));
  return latest;
}

async function writeGeneration(dir: string, generation: number, files: Map<string, string | Uint8Array>): Promise<void> {
  const tmp = join(dirname(dir), `.tmp-${generation}-${process.pid}-${randomBytes(4).toString('hex')}`);
  await mkdir(tmp, { recursive: true });
  try {
    for (const [file, data] of files) await writeFile(join(tmp, file), data);
    await rename(tmp, dir);
  } catch (error) {
    await rm(tmp, { recursive: true, force: true });
    const code = (error as NodeJS.ErrnoException).code;
    if (code === 'EEXIST' || code === 'ENOTEMPTY') throw new PublishFailedError(`generation ${generation} was published by someone else meanwhile; publish again`, { cause: error });
    throw new PublishFailedError(`cannot write generation ${generation} under ${dirname(dir)}: ${(error as Error).message}`, { cause: error });
  }
}

async function atomicWrite(path: string, data: string | Uint8Array): Promise<void> {
  await mkdir(dirname(path), { recursive: true });
  const tmp = `${path}.tmp-${process.pid}-${randomBytes(4).toString('hex')}`;
  await writeFile(tmp, data);
  await rename(tmp, path);
}
