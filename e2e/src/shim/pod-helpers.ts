import { join } from 'node:path';
import { STUB_IMAGE_NAME } from '@flox-k8s/oci-image';
import { hostNetworkPod, type containerConfig, type CriClient, type PodSandboxConfig } from '@flox-k8s/cri-harness';
import type { FloxNode } from './flox-node.ts';

/** A host-network pod of the node with its own log directory. */
export async function podConfig(node: FloxNode, name: string, annotations: Record<string, string>): Promise<PodSandboxConfig> {
  return hostNetworkPod({ name, logDirectory: join(node.containerd.paths.podLogs, `${name}-${Date.now()}`), annotations });
}

export async function createAndStart(cri: CriClient, podId: string, c: ReturnType<typeof containerConfig>, pod: PodSandboxConfig): Promise<string> {
  const id = await cri.createContainer(podId, c, pod);
  await cri.startContainer(id);
  return id;
}

export async function stubImageRef(node: FloxNode): Promise<string> {
  const { stdout } = await node.containerd.ctr(['-n', 'k8s.io', 'images', 'ls', '-q']);
  const ref = stdout.split('\n').find((l) => l.endsWith(STUB_IMAGE_NAME));
  if (ref === undefined) throw new Error(`stub image ${STUB_IMAGE_NAME} not imported: ${stdout}`);
  return ref;
}
