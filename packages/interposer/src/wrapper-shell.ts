import { existsSync, lstatSync } from 'node:fs';
import { join } from 'node:path';
import { canonicalContainerPath } from '@flox-k8s/store';
import { WrapperShellMissingError } from './errors.ts';

// Preference order: bash runs profile.bash too; sh is enough for hook + profile.common.
const SHELLS = ['bin/bash', 'bin/sh'];
const STORE_DIR = '/nix/store';

/**
 * The in-container shell that runs the activation wrapper: from the environment's
 * profile when it has one (an empty stub rootfs has none), else the image's own.
 * The profile's links point at in-container store paths: they are resolved through the
 * node store's copies (`hostStoreDir`), never through the host's own /nix/store, which a
 * node need not have (and whose paths are not the container's).
 */
export function wrapperShell(profile: { hostPath: string; containerPath: string }, hostStoreDir: string, rootfs: string | undefined): string {
  const toHost = (path: string): string | undefined => {
    if (path === profile.containerPath || path.startsWith(`${profile.containerPath}/`)) return profile.hostPath + path.slice(profile.containerPath.length);
    if (path.startsWith(`${STORE_DIR}/`)) return join(hostStoreDir, path.slice(STORE_DIR.length + 1));
    return undefined;
  };
  for (const shell of SHELLS) {
    const canonical = canonicalContainerPath(`${profile.containerPath}/${shell}`, toHost);
    const host = canonical === undefined ? undefined : toHost(canonical);
    if (host !== undefined && lstatSync(host, { throwIfNoEntry: false })?.isFile() === true) return `${profile.containerPath}/${shell}`;
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
