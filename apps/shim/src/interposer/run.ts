// The per-create Node process of the runc interposer (the ESM bundle, `main.ts`). The
// decision itself is @flox-k8s/interposer's interposeRunc, which the node agent's patch
// service runs too.
import { readEnv } from '../env.ts';
import { loadContext } from './context.ts';
import { interposeRunc, type InterposeState, type InterposerModules } from '@flox-k8s/interposer/interpose';
import { execRealRunc } from './runc.ts';

export type { InterposerModules } from '@flox-k8s/interposer/interpose';

/**
 * Handles one runc command line, then replaces the process with the real runc
 * (same argv). On failure: one line on stderr and in runc's log, exit 1.
 */
export async function runInterposer(argv: string[], modules: InterposerModules, state: Omit<InterposeState, 'context'>, fetchWorker: URL): Promise<never> {
  const runc = readEnv().realRunc ?? 'runc';
  const outcome = await interposeRunc(argv, process.cwd(), modules, { ...state, context: (fields) => ({ ...loadContext(fields), fetchWorker }) });
  if (!outcome.ok) {
    process.stderr.write(`${outcome.message}\n`);
    process.exit(1);
  }
  return execRealRunc(runc, argv);
}
