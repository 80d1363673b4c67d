import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { FRONT_DIR, LAUNCHER_PATH, type InstallLayoutOptions } from '@flox-k8s/shim-layout';
import type { AgentConfig } from '../config.ts';
import { shimConfigOf } from '../config.ts';
import { InstallStateError } from '../errors.ts';
import type { InstallOptions } from './host-install.ts';

/** The shim config file the agent writes on the host, relative to installDir (baked into the shim layout). */
export const SHIM_CONFIG_FILE = 'etc/config.json';

/**
 * Install options from the agent config. The shim on the host reads its config from
 * `<installDir>/etc/config.json`; credential files mounted into the agent from the Secret are
 * copied to `<installDir>/secrets/` (0600) and the config points there, since the host cannot see
 * the pod's Secret volume.
 */
export async function installOptionsFrom(config: AgentConfig, nodeBinary: string): Promise<InstallOptions> {
  const settings = config.agent.installer;
  const shim = structuredClone(shimConfigOf(config));
  const files: NonNullable<InstallOptions['files']> = {};
  let n = 0;
  const copySecret = async (path: string): Promise<string> => {
    n += 1;
    const rel = `secrets/${n}`;
    files[rel] = { content: await readFile(path), mode: 0o600 };
    return join(settings.installDir, rel);
  };
  for (const cache of shim.caches) {
    if (cache.credentialsFile !== undefined) cache.credentialsFile = await copySecret(cache.credentialsFile);
  }
  for (const source of shim.sources) {
    if ((source.type === 'hub' || source.type === 'floxmeta') && source.tokenFile !== undefined) source.tokenFile = await copySecret(source.tokenFile);
  }
  files[SHIM_CONFIG_FILE] = { content: `${JSON.stringify(shim, null, 2)}\n`, mode: 0o644 };
  return {
    hostRoot: settings.hostRoot,
    containerdConfig: settings.containerdConfig,
    installDir: settings.installDir,
    shimLayout: settings.shimLayout,
    nodeBinary: settings.nodeBinary ?? nodeBinary,
    shimLinkDir: settings.shimLinkDir,
    files,
    runtimeName: settings.runtimeName,
    annotations: settings.annotations,
    dropInName: settings.dropInName,
  };
}

/**
 * Where the installer puts things on the host, as a shim layout must bake them in: the layout
 * at `<installDir>/shim`, Node at `<installDir>/node/bin/node`, the config the agent writes at
 * `<installDir>/etc/config.json`. Stage it for the agent image with `@flox-k8s/shim-layout`'s
 * `stageLayout({ programs, ...hostShimLayout(installDir) }, dir)`. `patchServiceDir` must
 * match the agent config's (both default to /run/flox-k8s/patcher).
 */
export function hostShimLayout(installDir: string, options: { patchServiceDir?: string } = {}): Omit<InstallLayoutOptions, 'programs'> {
  return {
    prefix: join(installDir, 'shim'),
    node: join(installDir, 'node', 'bin', 'node'),
    config: join(installDir, SHIM_CONFIG_FILE),
    fromSource: true,
    ...(options.patchServiceDir === undefined ? {} : { patchServiceDir: options.patchServiceDir }),
  };
}

/**
 * The shim layout bakes absolute paths in; refuse to install one built for another install dir
 * (it would start, then fail at the first container).
 */
export async function assertShimLayoutFor(shimLayout: string, installDir: string): Promise<void> {
  const launcher = join(shimLayout, LAUNCHER_PATH);
  const text = await readFile(launcher, 'utf8').catch((cause: unknown) => {
    throw new InstallStateError(`expected the shim install layout at ${shimLayout} (bin/containerd-shim-flox-v2), found none; set agent.installer.shimLayout`, { cause });
  });
  const expected = join(installDir, 'shim', FRONT_DIR);
  if (!text.includes(expected)) {
    throw new InstallStateError(
      `expected the shim layout at ${shimLayout} to be built for ${join(installDir, 'shim')} (its launcher should name ${expected}), found another prefix; rebuild the agent image with the same installDir`,
    );
  }
}
