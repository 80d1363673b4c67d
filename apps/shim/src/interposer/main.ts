// Entry point of the runc interposer for `create` and `exec` (the sh front sends
// every other subcommand straight to runc). This runs on every container start, so
// only argv parsing and a cheap look at the spec are loaded eagerly; the patching
// machinery is imported (and evaluated) only for containers that name an environment.
import { existsSync } from 'node:fs';
import module from 'node:module';
import { join } from 'node:path';
import { readEnv } from '../env.ts';
import { errorCode } from '../errors.ts';
import { parseRuncArgv, type RuncGlobals } from './argv.ts';
import { EXEC_PLAN_FILE, bundleOfContainer, readJsonFile } from './bundle.ts';
import type { InterposeState } from './context.ts';
import { appendRuncLogError, execRealRunc } from './runc.ts';

// Milliseconds from process start until this bundle was loaded (Node start-up + parse).
const loadedAt = performance.now();
// The sh front sets NODE_COMPILE_CACHE, which covers this file too; enabling it here
// as well keeps the lazily imported chunks cached when the bundle is run directly.
module.enableCompileCache?.(readEnv().compileCache);
const ENVIRONMENT_ANNOTATION = 'flox.dev/environment';
const SANDBOX_ANNOTATION = 'io.kubernetes.cri.container-type';

async function main(argv: string[]): Promise<void> {
  const runc = readEnv().realRunc ?? 'runc';
  let globals: RuncGlobals | undefined;
  const state: InterposeState = { loadedAt };
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
        const { interposeCreate } = await import('./create.ts');
        await interposeCreate(inv, spec, state);
      }
    } else if (inv.subcommand === 'exec') {
      globals = inv.globals;
      const bundle = inv.processFile === undefined ? undefined : bundleOfContainer(inv.globals.root, inv.containerId);
      const planFile = bundle === undefined ? undefined : join(bundle, EXEC_PLAN_FILE);
      if (bundle !== undefined && planFile !== undefined && existsSync(planFile)) {
        const { interposeExec } = await import('./exec.ts');
        interposeExec(inv, bundle, state);
      }
    }
  } catch (error) {
    fail(error, state, globals);
  }
  execRealRunc(runc, argv);
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

await main(process.argv.slice(2));
