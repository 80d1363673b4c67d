// The runc interposer's `create`/`exec` handling, shared by its two entry points: the
// ESM bundle (`main.ts`, modules imported lazily) and the startup snapshot
// (`snapshot.ts`, everything already evaluated in the heap).
import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { readEnv } from '../env.ts';
import { errorCode } from '../errors.ts';
import { parseRuncArgv, type RuncGlobals } from './argv.ts';
import { EXEC_PLAN_FILE, bundleOfContainer, readJsonFile } from './bundle.ts';
import type { InterposeState } from './context.ts';
import type { interposeCreate } from './create.ts';
import type { interposeExec } from './exec.ts';
import { appendRuncLogError, execRealRunc } from './runc.ts';

const ENVIRONMENT_ANNOTATION = 'flox.dev/environment';
const SANDBOX_ANNOTATION = 'io.kubernetes.cri.container-type';

/** How an entry point provides the patching code (imported on demand, or already loaded). */
export interface InterposerModules {
  create(): Promise<{ interposeCreate: typeof interposeCreate }>;
  exec(): Promise<{ interposeExec: typeof interposeExec }>;
}

/**
 * Handles one runc command line, then replaces the process with the real runc
 * (same argv). On failure: one line on stderr and in runc's log, exit 1.
 */
export async function runInterposer(argv: string[], modules: InterposerModules, state: InterposeState): Promise<never> {
  const runc = readEnv().realRunc ?? 'runc';
  let globals: RuncGlobals | undefined;
  try {
    const inv = parseRuncArgv(argv, process.cwd());
    if (inv.subcommand === 'create') {
      globals = inv.globals;
      const spec = readJsonFile(join(inv.bundle, 'config.json'));
      // Containers without the annotation (pod sandboxes of other runtimes, plain pods)
      // go straight to runc; shouldPatch makes the full decision for the rest.
      if (namesEnvironment(spec)) {
        // Named in any failure line, even one about another annotation.
        const named = (spec as { annotations: Record<string, unknown> }).annotations[ENVIRONMENT_ANNOTATION];
        if (typeof named === 'string') state.environment = named.trim().slice(0, 256);
        const { interposeCreate } = await modules.create();
        await interposeCreate(inv, spec, state);
      }
    } else if (inv.subcommand === 'exec') {
      globals = inv.globals;
      const bundle = inv.processFile === undefined ? undefined : bundleOfContainer(inv.globals.root, inv.containerId);
      const planFile = bundle === undefined ? undefined : join(bundle, EXEC_PLAN_FILE);
      if (bundle !== undefined && planFile !== undefined && existsSync(planFile)) {
        const { interposeExec } = await modules.exec();
        interposeExec(inv, bundle, state);
      }
    }
  } catch (error) {
    fail(error, state, globals);
  }
  return execRealRunc(runc, argv);
}

function namesEnvironment(spec: unknown): boolean {
  const annotations = (spec as { annotations?: unknown } | null)?.annotations;
  if (typeof annotations !== 'object' || annotations === null) return false;
  if ((annotations as Record<string, unknown>)[SANDBOX_ANNOTATION] === 'sandbox') return false;
  const value = (annotations as Record<string, unknown>)[ENVIRONMENT_ANNOTATION];
  return typeof value !== 'string' || value.trim() !== '';
}

/** One line on stderr and in runc's log (containerd shows it as the CRI error), then exit 1. */
function fail(error: unknown, state: InterposeState, globals: RuncGlobals | undefined): never {
  const { environment } = state;
  const code = errorCode(error) ?? 'FLOXK8S_INTERNAL';
  const what = environment === undefined ? 'flox-k8s' : `flox-k8s: environment ${environment}`;
  const message = `${what}: ${code}: ${(error as Error)?.message ?? String(error)}`.replace(/\s*\n\s*/g, ' ');
  state.log?.log('error', 'interposer failed', { code, error });
  if (globals !== undefined) appendRuncLogError(globals, message);
  process.stderr.write(`${message}\n`);
  process.exit(1);
}
