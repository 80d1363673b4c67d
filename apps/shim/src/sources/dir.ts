import { open } from 'node:fs/promises';
import { join } from 'node:path';
import type { DirSource } from '../config/schema.ts';
import { EnvironmentSourceError } from '../errors.ts';
import type { SourceReader } from './types.ts';

/** A directory on the node with the hub layout (air-gapped clusters, tests). */
export function dirSourceReader(source: DirSource): SourceReader {
  const label = `dir ${source.path}`;
  return {
    label,
    async read(relativePath, limit) {
      const path = join(source.path, relativePath);
      let handle;
      try {
        handle = await open(path, 'r');
      } catch (error) {
        const code = (error as NodeJS.ErrnoException).code;
        if (code === 'ENOENT' || code === 'ENOTDIR') return undefined;
        throw new EnvironmentSourceError(`${label}: cannot open ${relativePath}: ${code ?? (error as Error).message}`, { cause: error });
      }
      try {
        const stat = await handle.stat();
        if (!stat.isFile()) throw new EnvironmentSourceError(`${label}: ${relativePath} is not a regular file`);
        if (stat.size > limit) throw new EnvironmentSourceError(`${label}: ${relativePath} is ${stat.size} bytes, over the ${limit}-byte limit`);
        return new Uint8Array(await handle.readFile());
      } finally {
        await handle.close();
      }
    },
  };
}
