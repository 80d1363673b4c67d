import { randomBytes } from 'node:crypto';
import { readFile, rename, rm, writeFile } from 'node:fs/promises';
import { CliFileError } from './errors.ts';

/** Reads a lockfile named on the command line (`-`: stdin), bounded like every other lockfile source. */
export async function readLockfileArg(path: string, stdin: () => AsyncIterable<Buffer>): Promise<Uint8Array> {
  // Every caller parses the lockfile next: loading the parser here costs nothing extra.
  const { MAX_LOCKFILE_BYTES } = await import('@flox-k8s/lockfile');
  if (path === '-') {
    const chunks: Buffer[] = [];
    let size = 0;
    for await (const chunk of stdin()) {
      size += chunk.length;
      if (size > MAX_LOCKFILE_BYTES) throw new CliFileError(`stdin: a lockfile is at most ${MAX_LOCKFILE_BYTES} bytes`);
      chunks.push(chunk);
    }
    return new Uint8Array(Buffer.concat(chunks));
  }
  const bytes = await readFile(path).catch((cause: unknown) => {
    throw new CliFileError(`cannot read lockfile ${path}: ${(cause as NodeJS.ErrnoException).code ?? (cause as Error).message}`, { cause });
  });
  if (bytes.length > MAX_LOCKFILE_BYTES) throw new CliFileError(`lockfile ${path} is ${bytes.length} bytes; a lockfile is at most ${MAX_LOCKFILE_BYTES} bytes`);
  return new Uint8Array(bytes);
}

/** Writes an output file whole or not at all (temp file beside it, then rename). */
export async function writeOutputFile(path: string, data: string): Promise<void> {
  const tmp = `${path}.tmp-${randomBytes(6).toString('hex')}`;
  try {
    await writeFile(tmp, data, { flag: 'wx' });
    await rename(tmp, path);
  } catch (cause) {
    await rm(tmp, { force: true });
    throw new CliFileError(`cannot write ${path}: ${(cause as NodeJS.ErrnoException).code ?? (cause as Error).message}`, { cause });
  }
}
