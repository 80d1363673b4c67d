import { join, resolve } from 'node:path';
import { appliedEnvironment, patchSpec, shouldPatch } from '@flox-k8s/oci-patch';
import type { RuncInvocation } from './argv.ts';
import { EXEC_PLAN_FILE, writeJsonFileAtomic } from './bundle.ts';
import type { InterposeState } from './context.ts';
import { preparePlan } from './prepare.ts';

function rootfsOf(spec: unknown, bundle: string): string | undefined {
  const path = (spec as { root?: { path?: unknown } } | null)?.root?.path;
  return typeof path === 'string' ? resolve(bundle, path) : undefined;
}

/**
 * `runc create`: when the spec asks for an environment, realise it and patch
 * `config.json` in place (atomically); `state` gets the environment and log for failure reports.
 */
export async function interposeCreate(inv: Extract<RuncInvocation, { subcommand: 'create' }>, spec: unknown, state: InterposeState): Promise<void> {
  const configPath = join(inv.bundle, 'config.json');
  const decision = shouldPatch(spec);
  if (!decision.patch) return;
  state.environment = decision.environment;

  const started = performance.now();
  const ctx = state.context({ containerId: inv.containerId, environment: decision.environment });
  state.log = ctx.log;
  const signal = AbortSignal.timeout(ctx.config.createTimeoutMs);
  const { plan, timings, via, fetched } = await preparePlan(
    ctx,
    {
      environment: decision.environment,
      mode: decision.mode,
      rootfs: rootfsOf(spec, inv.bundle),
      container: { containerId: inv.containerId, runcRoot: inv.globals.root, creatorPid: state.creatorPid, environment: decision.environment },
    },
    signal,
  );
  // Already patched for this very lockfile: a per-create fallback that raced the patch
  // service (or the other way round). The spec and exec plan are those we would write.
  const applied = appliedEnvironment(spec);
  if (applied?.environment === plan.applied.environment && applied.digest === plan.applied.digest) {
    ctx.log.log('info', 'container already patched', { container: decision.containerName, entry: state.entry, digest: applied.digest });
    return;
  }
  const patched = patchSpec(spec, plan);
  // The exec plan first: once config.json is patched, an exec must find it.
  writeJsonFileAtomic(join(inv.bundle, EXEC_PLAN_FILE), plan);
  writeJsonFileAtomic(configPath, patched);
  ctx.log.log('info', 'container patched', {
    container: decision.containerName,
    mode: decision.mode,
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
