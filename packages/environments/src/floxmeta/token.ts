import { readSecret } from '@flox-k8s/config';
import { FloxmetaTokenMissingError } from './errors.ts';

/**
 * The FloxHub token from the source's tokenFile (a mounted Secret), read on every remote
 * read so a rotated Secret takes effect without a restart. The message names the file,
 * never its content.
 */
export async function readToken(tokenFile: string, label: string): Promise<string> {
  try {
    return await readSecret(tokenFile);
  } catch (error) {
    throw new FloxmetaTokenMissingError(`${label}: no usable FloxHub token (${(error as Error).message}); mount the token Secret at the source's tokenFile`, { cause: error });
  }
}
