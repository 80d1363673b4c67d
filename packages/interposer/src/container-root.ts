import { waitWhileGcRuns, writeContainerRoot } from '@flox-k8s/store/container-roots';
import type { InterposerContext } from './context.ts';

/** The container a create is for, as runc names it. */
export interface ContainerRef {
  containerId: string;
  /** runc's `--root` as its caller gave it (a host path). */
  runcRoot: string;
  /** The process that becomes `runc create` (the front; default this process). */
  creatorPid?: number | undefined;
  environment: string;
}

/**
 * Makes the container's store paths a GC root before anything of them is used (store's
 * container-roots.ts: live while the creator runs or runc's state exists, released after
 * `runc delete`), then waits out a GC that may have read its roots before this one existed:
 * what the caller finds in the store after this stays there while the container runs.
 */
export async function holdForContainer(ctx: InterposerContext, container: ContainerRef, storePaths: readonly string[], signal: AbortSignal): Promise<void> {
  writeContainerRoot(ctx.config.storeRoot, {
    containerId: container.containerId,
    runcRoot: container.runcRoot,
    roots: storePaths,
    environment: container.environment,
    ...(container.creatorPid === undefined ? {} : { creatorPid: container.creatorPid }),
  });
  await waitWhileGcRuns(ctx.config.storeRoot, signal);
}
