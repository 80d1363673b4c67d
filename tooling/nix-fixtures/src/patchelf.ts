import { access, constants } from 'node:fs/promises';
import { join } from 'node:path';
import { pathDirectories } from './env.ts';
import { FixtureInputMissingError } from './errors.ts';

/** The absolute path of `patchelf` on PATH (a Nix builder gets no PATH of its own). */
export async function whichPatchelf(): Promise<string> {
  for (const dir of pathDirectories()) {
    const candidate = join(dir, 'patchelf');
    if (await access(candidate, constants.X_OK).then(() => true, () => false)) return candidate;
  }
  throw new FixtureInputMissingError('patchelf', 'PATH', 'Install it: apt-get install patchelf.');
}
