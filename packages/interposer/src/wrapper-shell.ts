import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { WrapperShellMissingError } from './errors.ts';

// Preference order: bash runs profile.bash too; sh is enough for hook + profile.common.
const SHELLS = ['bin/bash', 'bin/sh'];

/**
 * The in-container shell that runs the activation wrapper: from the environment's
 * profile when it has one (an empty stub rootfs has none), else the image's own.
 */
export function wrapperShell(profile: { hostPath: string; containerPath: string }, rootfs: string | undefined): string {
  for (const shell of SHELLS) {
    if (existsSync(join(profile.hostPath, shell))) return `${profile.containerPath}/${shell}`;
  }
  if (rootfs !== undefined) {
    for (const shell of SHELLS) {
      if (existsSync(join(rootfs, shell))) return `/${shell}`;
    }
  }
  throw new WrapperShellMissingError(
    'the environment has an on-activate hook or profile script, but neither the environment nor the image provides bin/bash or bin/sh; add bash (or busybox) to the environment',
  );
}
