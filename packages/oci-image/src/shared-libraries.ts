import { execFile } from 'node:child_process';
import { promisify } from 'node:util';
import { ImageInputInvalidError } from './errors.ts';

const run = promisify(execFile);

/**
 * Shared libraries a dynamically linked program needs, from `ldd` (absolute paths, sorted):
 * what an image must carry beside the program (e.g. Node in a distroless image). A static
 * binary has none. Throws `FLOXK8S_IMAGE_INPUT_INVALID` when ldd cannot list them.
 */
export async function sharedLibraries(binary: string): Promise<string[]> {
  let stdout: string;
  try {
    ({ stdout } = await run('ldd', [binary]));
  } catch (cause) {
    // Static binaries make ldd exit 1 ("not a dynamic executable").
    if (/not a dynamic executable/.test(String((cause as { stdout?: string; stderr?: string }).stderr ?? '') + String((cause as { stdout?: string }).stdout ?? ''))) return [];
    throw new ImageInputInvalidError(`expected ldd to list the libraries of ${binary}, found an error`, { cause });
  }
  const libs = new Set<string>();
  for (const line of stdout.split('\n')) {
    const m = /=>\s+(\/\S+)/.exec(line) ?? /^\s*(\/\S+)\s+\(/.exec(line);
    if (m?.[1]) libs.add(m[1]);
  }
  return [...libs].sort();
}
