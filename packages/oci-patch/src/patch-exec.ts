import { validateExecPlan, type PatchPlan } from './plan.ts';
import { patchProcess } from './patch-spec.ts';
import { parseProcess, type Process } from './spec-schema.ts';

/**
 * Patches the process JSON of `runc exec --process FILE` (so `kubectl exec` and exec
 * probes see the environment): the same environment rules as patchSpec and no mounts
 * (the container already has them). When `plan.wrapper` is given the exec'd command
 * is wrapped too, so the hook's exports are seen; pass a plan without `wrapper` to
 * skip running the hook on every exec. Only `env` and `wrapper` are read (and validated), so
 * the plan of a container patched by an earlier version still serves. Idempotent; the input
 * is not modified.
 */
export function patchExecProcess(execProcess: unknown, plan: Pick<PatchPlan, 'env' | 'wrapper'>): Process {
  const valid = validateExecPlan(plan);
  const original = parseProcess(execProcess);
  return patchProcess(structuredClone(original), valid, 'args');
}
