import { readFile, rm } from 'node:fs/promises';
import { join } from 'node:path';
import { LAUNCHER_NAME, LAUNCHER_PATH } from '@flox-k8s/shim-layout';
import { z } from 'zod';
import { InstallStateError } from '../errors.ts';
import {
  addRuntime,
  chooseInstallTarget,
  type ContainerdInfo,
  type FloxRuntimeSpec,
  type InstallTarget,
  loadConfigChain,
  parseConfig,
  parseContainerdVersion,
  removeRuntime,
  runcSystemdCgroup,
} from '@flox-k8s/containerd-config';
import { ensureSymlink, readIfExists, removeOwnSymlink, replaceWithCopy, sha256, writeFileAtomic } from './host-files.ts';
import { ensureStubImage, removeStubImage, type ImageActions, type StubImageRecord } from './stub-image.ts';

/** The host operations the installer needs, injected so tests can point them at a private containerd. */
export interface HostActions extends ImageActions {
  /** Output of `containerd --version`. */
  containerdVersion(): Promise<string>;
  /** Output of `containerd config default` (used only when the host has no config file). */
  containerdConfigDefault(): Promise<string>;
  /** Restart containerd and resolve once it answers again. */
  restartContainerd(): Promise<void>;
}

export interface InstallOptions {
  /** Where the host's `/` is mounted in the agent container (`/host`), or `''` when running on the host. */
  hostRoot: string;
  /** Host path of containerd's main config. */
  containerdConfig: string;
  /** Host directory that receives the shim layout and the Node runtime (`/opt/flox-k8s`). */
  installDir: string;
  /** Local directory holding the shim's install layout (`bin/containerd-shim-flox-v2`, …). */
  shimLayout: string;
  /** Local Node binary copied to `<installDir>/node/bin/node`. */
  nodeBinary: string;
  /** Host directory on containerd's PATH for the shim symlink, used when containerd ignores `runtime_path`. */
  shimLinkDir: string;
  /** Extra files to write below installDir (relative path → content), e.g. the shim's config and secrets. */
  files?: Record<string, { content: string | Uint8Array; mode?: number }>;
  runtimeName: string;
  annotations: string[];
  dropInName: string;
}

const stateSchema = z.object({
  stateVersion: z.literal(1),
  containerd: z.string(),
  target: z.object({ kind: z.enum(['edit', 'drop-in', 'create']), path: z.string() }),
  /** sha256 of the file before install; null when it did not exist. */
  originalSha256: z.string().nullable(),
  writtenSha256: z.string(),
  backupFile: z.string().nullable(),
  links: z.array(z.object({ path: z.string(), target: z.string() })),
  /** The stub image as install left it (absent in states written before the agent imported it). */
  stubImage: z.object({ name: z.string(), digest: z.string(), imported: z.boolean() }).optional(),
});
export type InstallState = z.infer<typeof stateSchema>;

export interface InstallResult {
  containerd: ContainerdInfo;
  target: InstallTarget;
  configChanged: boolean;
  restarted: boolean;
  /** The stub image in containerd's k8s.io namespace (`imported`: by this or an earlier install). */
  stubImage: StubImageRecord;
}

/** The shim's launcher, as containerd looks it up (`@flox-k8s/shim-layout`'s LAUNCHER_NAME). */
export const shimBinaryName: string = LAUNCHER_NAME;

function statePath(opts: InstallOptions, host: (p: string) => string): string {
  return host(join(opts.installDir, 'state.json'));
}

export function hostPathFn(hostRoot: string): (p: string) => string {
  return (p) => (hostRoot === '' ? p : join(hostRoot, p));
}

export async function readInstallState(opts: InstallOptions): Promise<InstallState | undefined> {
  const bytes = await readIfExists(statePath(opts, hostPathFn(opts.hostRoot)));
  if (!bytes) return undefined;
  const parsed = stateSchema.safeParse(JSON.parse(bytes.toString('utf8')));
  if (!parsed.success) {
    throw new InstallStateError(`expected ${join(opts.installDir, 'state.json')} to hold install state v1, found: ${z.prettifyError(parsed.error)}; restore the containerd config from ${join(opts.installDir, 'backup')} by hand`);
  }
  return parsed.data;
}

/**
 * Install the flox runtime on the host: copy the shim and Node, add the runtime to the containerd
 * config file containerd gives the last word, back up the original, restart containerd. Running it
 * again with the same inputs changes nothing and does not restart containerd.
 */
export async function installRuntime(opts: InstallOptions, actions: HostActions): Promise<InstallResult> {
  const host = hostPathFn(opts.hostRoot);
  const containerd = parseContainerdVersion(await actions.containerdVersion());
  const chain = await loadConfigChain(opts.containerdConfig, containerd.configVersion, host);
  const target = chooseInstallTarget(chain, opts.dropInName);
  let state = await readInstallState(opts);
  const previousStubImage = state?.stubImage;
  if (state && state.target.path !== target.path) {
    // containerd's load order changed since the last install (a new import): move the block.
    await uninstallRuntime(opts, actions, { restart: false });
    state = undefined;
  }

  await replaceWithCopy(opts.shimLayout, host(join(opts.installDir, 'shim')));
  await replaceWithCopy(opts.nodeBinary, host(join(opts.installDir, 'node', 'bin', 'node')));
  for (const [rel, file] of Object.entries(opts.files ?? {})) await writeFileAtomic(host(join(opts.installDir, rel)), file.content, file.mode ?? 0o644);
  const shimPath = join(opts.installDir, 'shim', LAUNCHER_PATH);
  const links = containerd.supportsRuntimePath ? [] : [{ path: join(opts.shimLinkDir, shimBinaryName), target: shimPath }];
  for (const link of links) await ensureSymlink(host(link.path), link.target);

  const current = await readIfExists(host(target.path));
  let original = current?.toString('utf8');
  if (target.kind === 'create' && original === undefined) original = await actions.containerdConfigDefault();
  const base = original ?? '';
  const runtime: FloxRuntimeSpec = { name: opts.runtimeName, annotations: opts.annotations };
  if (containerd.supportsRuntimePath) {
    runtime.runtimePath = shimPath;
    const systemd = runcSystemdCgroup(parseConfig(removeRuntime(base).text, target.path), target.format);
    if (systemd !== undefined) runtime.systemdCgroup = systemd;
  }
  const edited = target.kind === 'drop-in' && current === undefined
    ? addRuntime(`version = ${target.format}\n`, target.path, target.format, runtime)
    : addRuntime(base, target.path, target.format, runtime);
  const configChanged = current === undefined || edited.text !== current.toString('utf8');

  if (!state) {
    const backupFile = current === undefined ? null : join(opts.installDir, 'backup', target.path.replaceAll('/', '%'));
    if (backupFile !== null && current !== undefined) await writeFileAtomic(host(backupFile), current, 0o600);
    state = {
      stateVersion: 1,
      containerd: containerd.version,
      target: { kind: target.kind, path: target.path },
      originalSha256: current === undefined ? null : sha256(current),
      writtenSha256: sha256(edited.text),
      backupFile,
      links,
    };
  } else {
    if (current !== undefined && sha256(current) !== state.writtenSha256 && state.backupFile !== null) {
      // The operator edited the file since our last write: their version (minus our block) is the new original.
      const theirs = Buffer.from(removeRuntime(current.toString('utf8')).text);
      await writeFileAtomic(host(state.backupFile), theirs, 0o600);
      state = { ...state, originalSha256: sha256(theirs) };
    }
    state = { ...state, containerd: containerd.version, writtenSha256: sha256(edited.text), links };
  }
  if (configChanged) await writeFileAtomic(host(target.path), edited.text);
  await writeFileAtomic(statePath(opts, host), `${JSON.stringify(state, null, 2)}\n`, 0o600);
  if (configChanged) await actions.restartContainerd();
  // After the restart: the image store must answer. Recorded so uninstall removes only what install added.
  const stubImage = await ensureStubImage(actions, state.stubImage ?? previousStubImage);
  if (state.stubImage?.imported !== stubImage.imported || state.stubImage.digest !== stubImage.digest) {
    await writeFileAtomic(statePath(opts, host), `${JSON.stringify({ ...state, stubImage }, null, 2)}\n`, 0o600);
  }
  return { containerd, target, configChanged, restarted: configChanged, stubImage };
}

export interface UninstallResult {
  /** `restored`: original bytes back; `block-removed`: the file was edited since install, only our block went. */
  config: 'restored' | 'removed' | 'block-removed' | 'not-installed';
  restarted: boolean;
  /** `removed` when install had imported it; `kept` when the node had it before (or it changed since). */
  stubImage: 'removed' | 'kept' | 'absent';
}

/** Undo `installRuntime`: restore the original config byte for byte, remove links and the install dir. */
export async function uninstallRuntime(
  opts: InstallOptions,
  actions: HostActions,
  { restart = true }: { restart?: boolean } = {},
): Promise<UninstallResult> {
  const host = hostPathFn(opts.hostRoot);
  const state = await readInstallState(opts);
  if (!state) {
    await rm(host(opts.installDir), { recursive: true, force: true });
    return { config: 'not-installed', restarted: false, stubImage: 'absent' };
  }
  const current = await readIfExists(host(state.target.path));
  let config: UninstallResult['config'];
  if (current !== undefined && sha256(current) === state.writtenSha256) {
    if (state.backupFile === null) {
      await rm(host(state.target.path), { force: true });
      config = 'removed';
    } else {
      const backup = await readFile(host(state.backupFile));
      if (sha256(backup) !== state.originalSha256) {
        throw new InstallStateError(`expected backup ${state.backupFile} to have sha256 ${state.originalSha256}, found ${sha256(backup)}; restore ${state.target.path} by hand`);
      }
      await writeFileAtomic(host(state.target.path), backup);
      config = 'restored';
    }
  } else if (current !== undefined) {
    // Someone edited the file after install: keep their edits, take out only our block.
    await writeFileAtomic(host(state.target.path), removeRuntime(current.toString('utf8')).text);
    config = 'block-removed';
  } else {
    config = 'removed';
  }
  for (const link of state.links) await removeOwnSymlink(host(link.path), link.target);
  await rm(host(opts.installDir), { recursive: true, force: true });
  if (restart) await actions.restartContainerd();
  // Moving the block (restart: false) keeps the image: install puts the runtime back at once.
  const stubImage = restart ? await removeStubImage(actions, state.stubImage) : 'kept';
  return { config, restarted: restart, stubImage };
}
