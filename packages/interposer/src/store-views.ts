import type { ShimConfig } from '@flox-k8s/config';
import type { PatchPlan } from '@flox-k8s/oci-patch';

/**
 * Whether a plan's closure gets a mounted store view (config `storeViewMounts`): at least
 * `minPaths` paths to bind (symlinks are entries of the view, never mounts), mounted views on
 * (`maxMounts` > 0) and large enough to hold this one, and not nix-mutable (which overlays each
 * path). The one rule for both sides: a create looks for a view only then, and the patch
 * service mounts one only then.
 */
export function wantsMountedView(plan: Pick<PatchPlan, 'storePaths' | 'storeView' | 'nixMutable'>, settings: ShimConfig['storeViewMounts']): boolean {
  const paths = boundBases(plan).length;
  return plan.nixMutable === undefined && paths >= settings.minPaths && paths + 1 <= settings.maxMounts;
}

/** The base names (`<hash>-<name>`) of the plan's store paths that are bind-mounted: all but the symlinks, once each. */
export function boundBases(plan: Pick<PatchPlan, 'storePaths' | 'storeView'>): string[] {
  const symlinks = new Set(plan.storeView.symlinks);
  return [...new Set(plan.storePaths)].filter((p) => !symlinks.has(p)).map((p) => p.slice(p.lastIndexOf('/') + 1));
}
