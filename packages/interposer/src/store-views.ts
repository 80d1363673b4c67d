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
  const paths = new Set(plan.storePaths).size - new Set(plan.storeView.symlinks).size;
  return plan.nixMutable === undefined && paths >= settings.minPaths && paths + 1 <= settings.maxMounts;
}
