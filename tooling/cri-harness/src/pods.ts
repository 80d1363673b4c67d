import { randomUUID } from 'node:crypto';
import { mkdir } from 'node:fs/promises';
import { join } from 'node:path';
import type { CriClient } from './cri.ts';
import type { ContainerConfig, ContainerState, ContainerStatus, Mount, PodSandboxConfig } from './cri-types.ts';
import { HarnessTimeoutError } from './errors.ts';

export interface HostNetworkPodOptions {
  name: string;
  /** Default `default`. */
  namespace?: string;
  /** Default a random UUID. */
  uid?: string;
  /** Directory for the pod's container logs (created); e.g. `join(containerd.paths.podLogs, name)`. */
  logDirectory: string;
  annotations?: Record<string, string>;
  labels?: Record<string, string>;
}

/** A pod in the node's network namespace (no CNI needed), own PID namespace per container like kubelet's default. */
export async function hostNetworkPod(options: HostNetworkPodOptions): Promise<PodSandboxConfig> {
  await mkdir(options.logDirectory, { recursive: true });
  return {
    metadata: { name: options.name, uid: options.uid ?? randomUUID(), namespace: options.namespace ?? 'default', attempt: 0 },
    hostname: '',
    log_directory: options.logDirectory,
    labels: options.labels ?? {},
    annotations: options.annotations ?? {},
    linux: { security_context: { namespace_options: { network: 'NODE', pid: 'CONTAINER', ipc: 'POD' } } },
  };
}

export interface ContainerOptions {
  name: string;
  image: string;
  command?: string[];
  args?: string[];
  env?: Record<string, string>;
  annotations?: Record<string, string>;
  labels?: Record<string, string>;
  mounts?: Mount[];
  workingDir?: string;
  /** Relative to the pod's log directory; default `<name>.log`. */
  logPath?: string;
}

export function containerConfig(options: ContainerOptions): ContainerConfig {
  return {
    metadata: { name: options.name, attempt: 0 },
    image: { image: options.image },
    command: options.command ?? [],
    args: options.args ?? [],
    envs: Object.entries(options.env ?? {}).map(([key, value]) => ({ key, value })),
    mounts: options.mounts ?? [],
    labels: options.labels ?? {},
    annotations: options.annotations ?? {},
    log_path: options.logPath ?? `${options.name}.log`,
    ...(options.workingDir !== undefined ? { working_dir: options.workingDir } : {}),
  };
}

/** Host path of a container's CRI log file. */
export function containerLogPath(pod: PodSandboxConfig, container: ContainerConfig): string {
  return join(pod.log_directory ?? '', container.log_path ?? '');
}

/** Poll ContainerStatus until the state is one of `states` (default: exited); bounded by `timeoutMs` (default 30 s). */
export async function waitForContainer(
  cri: CriClient,
  containerId: string,
  options: { states?: readonly ContainerState[]; timeoutMs?: number } = {},
): Promise<ContainerStatus> {
  const states = options.states ?? ['CONTAINER_EXITED'];
  const timeoutMs = options.timeoutMs ?? 30_000;
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const { status } = await cri.containerStatus(containerId);
    if (states.includes(status.state)) return status;
    if (Date.now() > deadline) {
      throw new HarnessTimeoutError(`container ${containerId} stayed ${status.state} for ${timeoutMs} ms; expected ${states.join(' or ')}`);
    }
    await new Promise((r) => setTimeout(r, 50));
  }
}

/** Stop and remove a pod sandbox (and with it its containers); errors from an already-gone pod are ignored. */
export async function removePod(cri: CriClient, podSandboxId: string): Promise<void> {
  await cri.stopPodSandbox(podSandboxId).catch(() => undefined);
  await cri.removePodSandbox(podSandboxId);
}
