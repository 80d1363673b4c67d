#!/usr/bin/env node
// flox-node-agent run | install | uninstall [--wait] | version
import { hostname } from 'node:os';
import { extname } from 'node:path';
import { ENABLED_LABEL, startAgent } from './agent.ts';
import { loadAgentConfig, readAgentEnv } from './config.ts';
import { reportTaskError } from './background.ts';
import { codeLabel } from './errors.ts';
import { AGENT_VERSION } from './version.ts';
import { commandActions } from './install/host-commands.ts';
import { installRuntime } from './install/host-install.ts';
import { assertShimLayoutFor, installOptionsFrom } from './install/install-options.ts';
import { kubeClient } from '@flox-k8s/kube';
import { libzstdStatus, liblzmaStatus } from '@flox-k8s/nar';
import { profilesDirOf } from '@flox-k8s/store';
import { jsonLogger } from './log.ts';
import { serveUninstalled, uninstallNode } from './uninstall.ts';

// Beside this module in the bundle (fetch-worker.mjs), in dist (.js) and in the sources (.ts):
// the store, bundled in here, has no worker module of its own to start.
const fetchWorker = new URL(`./fetch-worker${extname(new URL(import.meta.url).pathname)}`, import.meta.url);
const command = process.argv[2] ?? 'run';
if (command === 'version') {
  // Which xz and zstd decoders this install has: liblzma and libzstd through koffi (beside the
  // bundle), or why not (then `xz -dc` processes, and Node's zlib).
  const xz = liblzmaStatus();
  const xzDecoder = xz.loaded ? `liblzma ${xz.version}` : `xz processes (liblzma: ${xz.reason})`;
  const zstd = libzstdStatus();
  const zstdDecoder = zstd.loaded ? `libzstd ${zstd.version}` : `zlib (libzstd: ${zstd.reason})`;
  process.stdout.write(`${JSON.stringify({ name: 'flox-node-agent', version: AGENT_VERSION, node: process.version, xzDecoder, zstdDecoder })}\n`);
  process.exit(0);
}
const env = readAgentEnv();
const config = loadAgentConfig(env.configPath);
const log = jsonLogger({ level: config.agent.logLevel, base: { node: env.nodeName } });
const kube = kubeClient({
  kubeconfig: env.kubeconfig === undefined ? 'in-cluster' : { file: env.kubeconfig },
  component: 'flox-node-agent',
  host: env.nodeName || hostname(),
});
const installer = config.agent.installer;
const actions = commandActions(installer);

try {
  if ((command === 'run' && installer.enabled) || command === 'install') await assertShimLayoutFor(installer.shimLayout, installer.installDir);
  if (command === 'run') {
    const install = installer.enabled ? { options: await installOptionsFrom(config, process.execPath), actions } : undefined;
    const agent = await startAgent({ config, nodeName: env.nodeName, kube, log, fetchWorker, ...(install ? { install } : {}) });
    // Every timer and handler of the agent reports its own failures; a rejection that still
    // escapes is counted and logged rather than ending every pod's realise and patch service.
    process.on('unhandledRejection', (reason) => reportTaskError({ metrics: agent.metrics, log }, 'unhandled-rejection', reason));
    const shutdown = (signal: string): void => {
      log.info('shutting down', { signal });
      void agent.stop().then(() => process.exit(0));
    };
    process.once('SIGTERM', () => shutdown('SIGTERM'));
    process.once('SIGINT', () => shutdown('SIGINT'));
  } else if (command === 'install') {
    const result = await installRuntime(await installOptionsFrom(config, process.execPath), actions);
    await kube.patchNodeLabels(env.nodeName, { [ENABLED_LABEL]: 'true' });
    log.info('installed', { containerd: result.containerd.version, target: result.target, restarted: result.restarted });
  } else if (command === 'uninstall') {
    const options = await installOptionsFrom(config, process.execPath);
    await uninstallNode({ options, actions, kube, nodeName: env.nodeName, agentSocket: config.agentSocket, log, profilesDir: profilesDirOf(config.storeRoot) });
    if (process.argv.includes('--wait')) {
      // The uninstall DaemonSet's pods: Ready once done here, until deleted.
      const server = await serveUninstalled(config.agent, log);
      const stop = (): void => void server.close().then(() => process.exit(0));
      process.once('SIGTERM', stop);
      process.once('SIGINT', stop);
    }
  } else {
    log.error('usage: flox-node-agent run | install | uninstall [--wait] | version', { command });
    process.exitCode = 2;
  }
} catch (error) {
  log.error(`${command} failed`, { code: codeLabel(error), error });
  process.exitCode = 1;
}
