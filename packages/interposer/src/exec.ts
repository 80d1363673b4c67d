import { join } from 'node:path';
import { patchExecProcess, shouldPatchExec } from '@flox-k8s/oci-patch';
import type { RuncInvocation } from './argv.ts';
import type { InterposeState } from './context.ts';
import { EXEC_PLAN_FILE, readJsonFile, writeJsonFileAtomic } from './bundle.ts';

/**
 * `runc exec --process FILE`: when the container was patched at create, add the
 * activation environment to the process spec (kubectl exec, exec probes).
 */
export function interposeExec(inv: Extract<RuncInvocation, { subcommand: 'exec' }>, bundle: string, state: InterposeState): void {
  if (inv.processFile === undefined) return;
  const planJson = readJsonFile(join(bundle, EXEC_PLAN_FILE));
  const spec = readJsonFile(join(bundle, 'config.json'));
  const decision = shouldPatchExec(spec);
  if (!decision.patch) return;
  state.environment = decision.environment;
  const process = readJsonFile(inv.processFile);
  // patchExecProcess validates the plan's env and wrapper, all an exec uses.
  writeJsonFileAtomic(inv.processFile, patchExecProcess(process, planJson as never));
}
