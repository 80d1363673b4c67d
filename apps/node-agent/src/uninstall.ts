// `flox-node-agent uninstall [--wait]`: what the uninstall DaemonSet (deploy/uninstall/) runs on
// every node. A Job cannot target "every node" and a preStop hook is not run reliably (a node
// drained or a pod force-deleted skips it), so uninstall is a DaemonSet of its own: it undoes the
// install, then stays Ready (`/readyz`) so `kubectl rollout status` says when every node is done.
import { connect } from 'node:net';
import { ENABLED_LABEL } from './agent.ts';
import { AgentStillRunningError } from './errors.ts';
import { uninstallRuntime, type HostActions, type InstallOptions, type UninstallResult } from './install/host-install.ts';
import type { KubeApi } from '@flox-k8s/kube';
import { unmountAllStoreViews } from '@flox-k8s/store/view-mounts';
import type { Logger } from './log.ts';
import { listenObservability, Readiness, type ObservabilityServer } from './metrics/http-server.ts';
import { createMetrics } from './metrics/metrics.ts';

/** True when something accepts connections on the agent's realise socket (an agent serves this node). */
export function agentAnswers(socketPath: string, timeoutMs = 1000): Promise<boolean> {
  return new Promise((resolve) => {
    const socket = connect(socketPath);
    const done = (answer: boolean): void => {
      socket.destroy();
      resolve(answer);
    };
    socket.setTimeout(timeoutMs, () => done(false));
    socket.once('connect', () => done(true));
    socket.once('error', () => done(false));
  });
}

export interface UninstallDeps {
  options: InstallOptions;
  /** The store's profiles (`profilesDirOf(storeRoot)`): their mounted store views are taken down. */
  profilesDir?: string;
  /** Processes whose mount namespaces may hold those views (default this process, then PID 1: the host's). */
  mountNamespacePids?: readonly number[];
  actions: HostActions;
  kube: KubeApi;
  nodeName: string;
  agentSocket: string;
  log: Logger;
}

/**
 * Unlabels the node (no new flox pod lands here), then restores containerd's config byte for byte
 * and removes what install added. Refuses (`FLOXK8S_AGENT_STILL_RUNNING`) while an agent answers on
 * this node: it would install everything again on its next start. Delete the agent DaemonSet first.
 */
export async function uninstallNode(deps: UninstallDeps): Promise<UninstallResult & { storeViewsUnmounted: number }> {
  if (await agentAnswers(deps.agentSocket)) {
    throw new AgentStillRunningError(
      `the node agent still answers on ${deps.agentSocket}; delete its DaemonSet first (kubectl -n flox-system delete daemonset flox-node-agent), this uninstall retries`,
    );
  }
  await deps.kube.patchNodeLabels(deps.nodeName, { [ENABLED_LABEL]: null });
  const result = await uninstallRuntime(deps.options, deps.actions);
  // No mount of ours outlives the uninstall: the large closures' mounted store views go.
  const views = deps.profilesDir === undefined ? [] : unmountAllStoreViews(deps.profilesDir, deps.mountNamespacePids);
  deps.log.info('uninstalled', { ...result, storeViewsUnmounted: views.length });
  return { ...result, storeViewsUnmounted: views.length };
}

/** `--wait`: report Ready on `/readyz` until the pod is stopped (the DaemonSet's pods never exit). */
export async function serveUninstalled(settings: { metricsHost: string; metricsPort: number }, log: Logger): Promise<ObservabilityServer> {
  const readiness = new Readiness();
  readiness.set('uninstalled', true);
  const server = await listenObservability({ host: settings.metricsHost, port: settings.metricsPort, registry: createMetrics().registry, readiness });
  log.info('uninstall done; waiting to be stopped', { readyz: `${server.url}/readyz` });
  return server;
}
