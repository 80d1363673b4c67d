// A flox-k8s "host" for the node-agent suites: a private containerd started with its stock config,
// and the agent's installer pointed at it (temp install dir, restart = restart that containerd).
import { execFile } from 'node:child_process';
import { mkdir, mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { promisify } from 'node:util';
import { kubeClient } from '@flox-k8s/kube';
import {
  commandActions,
  hostShimLayout,
  installOptionsFrom,
  parseAgentConfig,
  startAgent,
  type HostActions,
  type InstallOptions,
  type Logger,
  type RunningAgent,
} from '@flox-k8s/node-agent';
import { shimPrograms } from '@flox-k8s/shim';
import { stageLayout } from '@flox-k8s/shim-layout';
import { startContainerd, testImages, type ContainerdHandle, type ContainerdPaths, type ContainerdVersion } from '@flox-k8s/cri-harness';

const run = promisify(execFile);

export interface AgentHost {
  dir: string;
  containerd: ContainerdHandle;
  /** The config containerd was started with, as bytes on disk before any install. */
  originalConfig: string;
  installOptions: InstallOptions;
  /** The patch service directory baked into the installed runc front (the agent config must name it too). */
  patchServiceDir: string;
  actions: HostActions & { restarts: number };
  stop(): Promise<void>;
}

export interface AgentHostOptions {
  version: ContainerdVersion;
  /**
   * Rework containerd's stock config before the test (containerd restarts on it): the new main
   * config text, and files to write relative to the config's directory (imported drop-ins).
   */
  prepare?: (stock: string, paths: ContainerdPaths) => { main: string; files: Record<string, string> };
  /**
   * `sandbox`: only the pause image is imported (the stub image must come from the agent's install),
   * and containerd's registry traffic goes to a proxy that refuses every connection.
   */
  images?: 'all' | 'sandbox';
}

export async function startAgentHost(options: AgentHostOptions): Promise<AgentHost> {
  const dir = await mkdtemp(join(tmpdir(), `flox-agent-host-${options.version.replace('.', '')}-`));
  const linkDir = join(dir, 'usr-local-bin');
  const installDir = join(dir, 'opt', 'flox-k8s');
  await mkdir(linkDir, { recursive: true });
  // A private patch service directory: a suite never talks to another run's agent.
  const patchServiceDir = join(dir, 'run', 'patcher');
  const shimLayout = await stageLayout({ programs: shimPrograms, ...hostShimLayout(installDir, { patchServiceDir }) }, join(dir, 'shim-layout'));
  const containerd = await startContainerd({
    version: options.version,
    // containerd's own `config default`, moved to the private paths: what a node operator starts from.
    config: 'stock',
    // containerd 1.6.20 ignores runtime_path: it finds containerd-shim-flox-v2 through PATH, where the installer links it.
    extraPath: [linkDir],
    ...(options.images === 'sandbox'
      ? { importTestImages: false, env: { HTTPS_PROXY: 'http://127.0.0.1:9', HTTP_PROXY: 'http://127.0.0.1:9', NO_PROXY: '' } }
      : {}),
  });
  if (options.images === 'sandbox') await containerd.importImage((await testImages()).pause.tarball);
  let originalConfig: string;
  try {
    if (options.prepare) {
      const prepared = options.prepare(await readFile(containerd.paths.config, 'utf8'), containerd.paths);
      for (const [rel, text] of Object.entries(prepared.files)) {
        await mkdir(dirname(join(containerd.paths.dir, rel)), { recursive: true });
        await writeFile(join(containerd.paths.dir, rel), text);
      }
      await writeFile(containerd.paths.config, prepared.main);
      await containerd.restart();
    }
    originalConfig = await readFile(containerd.paths.config, 'utf8');
  } catch (error) {
    await containerd.stop();
    throw error;
  }
  // The installer's own image commands, as it runs them through nsenter on a node: ctr with the tarball on stdin.
  const ctr = [containerd.binaries.ctr, '--address', containerd.socket, '-n', 'k8s.io', 'images'];
  const images = commandActions({
    versionCommand: ['false'],
    configDefaultCommand: ['false'],
    restartCommand: ['false'],
    healthCommand: ['false'],
    restartTimeoutSeconds: 1,
    imageListCommand: [...ctr, 'ls'],
    imageImportCommand: [...ctr, 'import', '-'],
    imageRemoveCommand: [...ctr, 'rm'],
  });
  const actions = {
    restarts: 0,
    listImages: images.listImages,
    importImage: images.importImage,
    removeImage: images.removeImage,
    containerdVersion: async () => (await run(containerd.binaries.containerd, ['--version'])).stdout,
    containerdConfigDefault: async () => (await run(containerd.binaries.containerd, ['config', 'default'])).stdout,
    restartContainerd: async () => {
      actions.restarts += 1;
      await containerd.restart();
    },
  };
  const installOptions: InstallOptions = {
    hostRoot: '',
    containerdConfig: containerd.paths.config,
    installDir,
    shimLayout,
    nodeBinary: process.execPath,
    shimLinkDir: linkDir,
    runtimeName: 'flox',
    annotations: ['flox.dev/*'],
    dropInName: 'zz-flox-k8s.toml',
  };
  return {
    dir,
    containerd,
    originalConfig,
    installOptions,
    patchServiceDir,
    actions,
    stop: async () => {
      await containerd.stop();
      await rm(dir, { recursive: true, force: true });
    },
  };
}

/** What a suite chooses about the agent it starts on a host; the host's own paths fill in the rest. */
export interface HostAgentConfig {
  caches: Array<{ url: string }>;
  trustedKeys?: string[];
  sources?: Array<{ type: 'dir'; path: string }>;
}

/** The agent config file's content for `host`: the suite's choices and the host's own paths. */
export function hostAgentConfig(host: AgentHost, input: HostAgentConfig): Record<string, unknown> {
  return {
    ...input,
    storeRoot: join(host.dir, 'store'),
    agentSocket: join(host.dir, 'run', 'agent.sock'),
    logFile: join(host.dir, 'shim.log'),
    patchServiceDir: host.patchServiceDir,
    agent: { metricsHost: '127.0.0.1', metricsPort: 0 },
  };
}

/**
 * Starts the real node agent for `host` as node `node-1` of the fake API server: it installs the
 * runtime with the host's installer (the shim config and secrets it writes included), serves its
 * realise socket at `<host>/run/agent.sock` and its HTTP endpoints on 127.0.0.1, port 0.
 */
export async function startHostAgent(host: AgentHost, apiserverUrl: string, input: HostAgentConfig, log: Logger): Promise<RunningAgent> {
  const config = parseAgentConfig(hostAgentConfig(host, input));
  const { files } = await installOptionsFrom(config, process.execPath);
  return startAgent({
    config,
    nodeName: 'node-1',
    kube: kubeClient({ kubeconfig: { server: apiserverUrl }, component: 'flox-node-agent', host: 'node-1' }),
    log,
    install: { options: { ...host.installOptions, ...(files ? { files } : {}) }, actions: host.actions },
  });
}
