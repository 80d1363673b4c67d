import { createHash } from 'node:crypto';
import { existsSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { ANNOTATIONS, patchSpec, shouldPatch } from '@flox-k8s/oci-patch';
import { mountedViewUsable, mountNamespaceOf } from '@flox-k8s/store/view-mounts';
import type { RuncInvocation } from './argv.ts';
import { EXEC_PLAN_FILE, PATCHED_MARKER_FILE, readJsonFile, writeFileAtomic, writeJsonFileAtomic } from './bundle.ts';
import { containerPlan } from './container-plan.ts';
import { ReservedAnnotationError } from './errors.ts';
import type { InterposeState } from './context.ts';
import { verifyMountSources } from './mount-sources.ts';
import { podFloxhubToken } from './pod-token.ts';
import { preparePlan } from './prepare.ts';
import { boundBases, wantsMountedView } from './store-views.ts';

function rootfsOf(spec: unknown, bundle: string): string | undefined {
  const path = (spec as { root?: { path?: unknown } } | null)?.root?.path;
  return typeof path === 'string' ? resolve(bundle, path) : undefined;
}

/** What the marker file records (PATCHED_MARKER_FILE). */
interface PatchedMarker {
  environment: string;
  digest: string;
  /** sha256 of the config.json we wrote (JSON.stringify of the patched spec). */
  config: string;
}

const sha256 = (text: string): string => createHash('sha256').update(text).digest('hex');

/**
 * The marker, when it says this very spec is the one we wrote: then its annotations are ours.
 * Otherwise the spec is containerd's (the pod's annotations), whatever they claim.
 */
function ourMarker(bundle: string, spec: unknown): PatchedMarker | undefined {
  const path = join(bundle, PATCHED_MARKER_FILE);
  // None in a new bundle (every first create): no exception for that.
  if (!existsSync(path)) return undefined;
  let marker: Partial<PatchedMarker>;
  try {
    marker = readJsonFile(path) as Partial<PatchedMarker>;
  } catch {
    return undefined;
  }
  if (typeof marker?.config !== 'string' || marker.config !== sha256(JSON.stringify(spec))) return undefined;
  return marker as PatchedMarker;
}

/** How the runc caller names things: its bundle path, and how this process reaches a host path of its. */
export interface CallerView {
  bundle: string;
  path: (path: string) => string;
}

/**
 * `runc create`: when the spec asks for an environment, realise it, check what will be mounted
 * and patch `config.json` in place (atomically); `state` gets the environment and log for failure
 * reports. `inv.bundle` is the bundle as this process reaches it; `caller` as runc names it (the
 * default: the same, in the caller's own mount namespace; the patch service's /proc/<pid>/root).
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
      rootfs: rootfsOf(spec, inv.bundle),
      container: { containerId: inv.containerId, runcRoot: inv.globals.root, creatorPid: state.creatorPid, environment: decision.environment },
      ...(floxhubToken === undefined ? {} : { floxhubToken }),
      callerPath: caller.path,
    },
    signal,
  );
  const { timings, via, fetched } = prepared;
  let t = performance.now();
  const lap = (name: string): void => {
    const now = performance.now();
    timings[name] = round(now - t);
    t = now;
  };
  // On every create: what runc will mount is what the store made. A cached plan was verified
  // while it was checked for use (the same lstat walk); a fresh one is verified here.
  if (prepared.mountsVerified !== true) {
    verifyMountSources(prepared.plan, ctx.config.storeRoot, caller.path);
    lap('verifyMounts');
  }
  const marker = ourMarker(inv.bundle, spec);
  // Already patched by us for this very lockfile: a per-create fallback that raced the patch
  // service (or the other way round). The spec and exec plan are those we would write.
  if (marker?.environment === prepared.plan.applied.environment && marker.digest === prepared.plan.applied.digest) {
    ctx.log.log('info', 'container already patched', { container: decision.containerName, entry: state.entry, digest: marker.digest });
    return;
  }
  if (marker === undefined) {
    // containerd's spec: annotations only we write cannot come from anyone but the pod.
    const annotations = (spec as { annotations?: Record<string, unknown> }).annotations ?? {};
    for (const key of [ANNOTATIONS.appliedEnvironment, ANNOTATIONS.lockfileDigest]) {
      if (key in annotations) throw new ReservedAnnotationError(key);
    }
  }
  // A view whose entries the host has mounted already (for this boot, in runc's namespace):
  // one recursive bind instead of one per store path (a nix-mutable container overlays each).
  // Only closures the service would mount a view for (config storeViewMounts) look for one.
  const creator = state.creatorPid ?? process.pid;
  const closure = prepared.plan;
  const namespace = !decision.nixMutable && wantsMountedView(closure, ctx.config.storeViewMounts) ? mountNamespaceOf(creator) : undefined;
  const probe = namespace === undefined ? undefined : boundBases(closure)[0];
  const viewMounted =
    probe !== undefined &&
    mountedViewUsable(caller.path(closure.storeView.hostPath), namespace, {
      entry: caller.path(`${closure.storeView.hostPath}/${probe}`),
      source: caller.path(`${closure.hostStoreDir}/${probe}`),
    });
  lap('viewCheck');
  const perContainer = containerPlan(prepared.plan, {
    decision,
    spec,
    storeRoot: ctx.config.storeRoot,
    containerId: inv.containerId,
    bundle: caller.bundle,
    rootfs: rootfsOf(spec, caller.bundle),
    callerPath: caller.path,
    log: ctx.log,
  });
  const plan = viewMounted ? { ...perContainer, storeView: { ...perContainer.storeView, mounted: true } } : perContainer;
  const patched = patchSpec(spec, plan);
  const patchedJson = JSON.stringify(patched);
  lap('patch');
  // The exec plan first: once config.json is patched, an exec must find it. The marker before
  // config.json too: whoever reads the patched config.json finds the marker that vouches for it.
  writeJsonFileAtomic(join(inv.bundle, EXEC_PLAN_FILE), plan);
  writeJsonFileAtomic(join(inv.bundle, PATCHED_MARKER_FILE), { environment: plan.applied.environment, digest: plan.applied.digest, config: sha256(patchedJson) });
  writeFileAtomic(configPath, patchedJson);
  lap('write');
  if (!viewMounted && namespace !== undefined) ctx.storeViews?.created(plan, { pid: creator, namespace, path: caller.path });
  ctx.log.log('info', 'container patched', {
    container: decision.containerName,
    mode: prepared.mode,
    via,
    entry: state.entry,
    fetched,
    mountedView: viewMounted,
    timings: { nodeStart: round(state.loadedAt ?? 0), imports: round(started - (state.loadedAt ?? started)), ...timings },
    totalMs: round(performance.now() - started),
    sinceProcessStartMs: round(performance.now()),
  });
}

function round(ms: number): number {
  return Math.round(ms * 10) / 10;
}
