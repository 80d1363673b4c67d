import { closeSync, fstatSync, openSync, readSync } from 'node:fs';
import { join } from 'node:path';
import type { DirSource } from '@flox-k8s/config';
import { EnvironmentSourceError } from './errors.ts';
import type { SourceReader } from './types.ts';

/**
 * A directory on the node with the hub layout (air-gapped clusters, tests).
 * Reads are synchronous: a few small local files, on the container-start path,
 * where a trip through libuv's thread pool costs more than the read.
 */
export function dirSourceReader(source: DirSource): SourceReader {
  const label = `dir ${source.path}`;
  return {
    label,
    read(relativePath, limit) {
      return Promise.resolve().then(() => readLimited(join(source.path, relativePath), relativePath, limit, label));
    },
  };
}

function readLimited(path: string, relativePath: string, limit: number, label: string): Uint8Array | undefined {
  let fd: number;
  try {
    fd = openSync(path, 'r');
  } catch (error) {
    const code = (error as NodeJS.ErrnoException).code;
    if (code === 'ENOENT' || code === 'ENOTDIR') return undefined;
    throw new EnvironmentSourceError(`${label}: cannot open ${relativePath}: ${code ?? (error as Error).message}`, { cause: error });
  }
  try {
    const stat = fstatSync(fd);
    if (!stat.isFile()) throw new EnvironmentSourceError(`${label}: ${relativePath} is not a regular file`);
    if (stat.size > limit) throw new EnvironmentSourceError(`${label}: ${relativePath} is ${stat.size} bytes, over the ${limit}-byte limit`);
    const bytes = new Uint8Array(stat.size);
    let offset = 0;
    while (offset < bytes.length) {
      const n = readSync(fd, bytes, offset, bytes.length - offset, offset);
      if (n === 0) break;
      offset += n;
    }
    return offset === bytes.length ? bytes : bytes.subarray(0, offset);
  } finally {
    closeSync(fd);
  }
}
