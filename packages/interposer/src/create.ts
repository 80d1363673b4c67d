import { join, resolve } from 'node:path';
import { appliedEnvironment, patchSpec, shouldPatch } from '@flox-k8s/oci-patch';
import type { RuncInvocation } from './argv.ts';
import { EXEC_PLAN_FILE, writeJsonFileAtomic } from './bundle.ts';
import { containerPlan } from './container-plan.ts';
import type { InterposeState } from './context.ts';
import { podFloxhubToken } from './pod-token.ts';
import { preparePlan } from './prepare.ts';

function rootfsOf(spec: unknown, bundle: string): string | undefined {
  const path = (spec as { root?: { path?: unknown } } | null)?.root?.path;
  return typeof path === 'string' ? resolve(bundle, path) : undefined;
}

/** How the runc caller names things: its bundle path, and how this process reaches a host path of its. */
export interface CallerView {
  bundle: string;
  path: (path: string) => string;
}

/**
 * `runc create`: when the spec asks for an environment, realise it and patch
 * `config.json` in place (atomically); `state` gets the environment and log for failure reports.
 * `inv.bundle` is the bundle as this process reaches it; `caller` as runc names it (the default:
 * the same, in the caller's own mount namespace).
 */
export async function interposeCreate(
  inv: Extract<RuncInvocation, { subcommand: 'create' }>,
  spec: unknown,
  state: InterposeState,
  caller: CallerView = { bundle: inv.bundle, path: (p) => p },
): Promise<void> {
  const configPath = join(inv.bundle, 'config.json');
  const decision = shouldPatch(spec);
  if (!decision.patch) return;
  state.environment = decision.environment;

  const started = performance.now();
  const ctx = state.context({ containerId: inv.containerId, environment: decision.environment });
  state.log = ctx.log;
  const signal = AbortSignal.timeout(ctx.config.createTimeoutMs);
  const floxhubToken = podFloxhubToken(spec, caller.path);
  const prepared = await preparePlan(
    ctx,
    {
      environment: decision.environment,
      mode: decision.modeFromAnnotation ? decision.mode : undefined,
      containerId: inv.containerId,
      rootfs: rootfsOf(spec, inv.bundle),
      ...(floxhubToken === undefined ? {} : { floxhubToken }),
    },
    signal,
  );
  const { timings, via, fetched } = prepared;
  // Already patched for this very lockfile: a per-create fallback that raced the patch
  // service (or the other way round). The spec and exec plan are those we would write.
  const applied = appliedEnvironment(spec);
  if (applied?.environment === prepared.plan.applied.environment && applied.digest === prepared.plan.applied.digest) {
    ctx.log.log('info', 'container already patched', { container: decision.containerName, entry: state.entry, digest: applied.digest });
    return;
  }
  const plan = containerPlan(prepared.plan, {
    decision,
    spec,
    storeRoot: ctx.config.storeRoot,
    containerId: inv.containerId,
    bundle: caller.bundle,
    rootfs: rootfsOf(spec, caller.bundle),
    callerPath: caller.path,
    log: ctx.log,
  });
  const patched = patchSpec(spec, plan);
  // The exec plan first: once config.json is patched, an exec must find it.
  writeJsonFileAtomic(join(inv.bundle, EXEC_PLAN_FILE), plan);
  writeJsonFileAtomic(configPath, patched);
  ctx.log.log('info', 'container patched', {
    container: decision.containerName,
    mode: prepared.mode,
    via,
    entry: state.entry,
    fetched,
    timings: { nodeStart: round(state.loadedAt ?? 0), imports: round(started - (state.loadedAt ?? started)), ...timings },
    totalMs: round(performance.now() - started),
    sinceProcessStartMs: round(performance.now()),
  });
}

function round(ms: number): number {
  return Math.round(ms * 10) / 10;
}
