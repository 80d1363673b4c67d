// The runc interposer's decision for one `create`/`exec` command line, as an outcome:
// shared by the per-create Node entry points (run.ts: exec runc or exit 1) and the
// node agent's patch service (patch-service/: a reply line to the sh front).
import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { errorCode } from '@flox-k8s/core';
import { parseRuncArgv, type RuncGlobals } from './argv.ts';
import { EXEC_PLAN_FILE, bundleOfContainer, readJsonFile } from './bundle.ts';
import type { CallerPath, InterposeState } from './context.ts';

export type { InterposeState, InterposerContext } from './context.ts';
import type { interposeCreate } from './create.ts';
import type { interposeExec } from './exec.ts';
import { appendRuncLogError } from './runc-log.ts';

const ENVIRONMENT_ANNOTATION = 'flox.dev/environment';
const SANDBOX_ANNOTATION = 'io.kubernetes.cri.container-type';

/** How a caller provides the patching code (imported on demand, or already loaded). */
export interface InterposerModules {
  create(): Promise<{ interposeCreate: typeof interposeCreate }>;
  exec(): Promise<{ interposeExec: typeof interposeExec }>;
}

/**
 * What the real runc should do next: run with the original argv (`ok`: the spec is
 * patched, or there was nothing to patch), or not at all (`fail`: `message` is the one
 * line for runc's caller, already appended to runc's `--log`).
 */
export type InterposeOutcome = { ok: true } | { ok: false; code: string; message: string };

export type { CallerPath } from './context.ts';

const samePath: CallerPath = (path) => path;

/** runc's global flags with its `--log` file as this process sees it (where failures are appended). */
export function callerGlobals(globals: RuncGlobals, callerPath: CallerPath): RuncGlobals {
  return { ...globals, log: globals.log === undefined ? undefined : callerPath(globals.log) };
}

/**
 * Handles one runc command line (argv without the program, `cwd` of the caller): for
 * `create`, realise and patch `config.json`; for `exec`, patch the `--process` file.
 * Never throws: failures come back as a `fail` outcome.
 */
export async function interposeRunc(
  argv: readonly string[],
  cwd: string,
  modules: InterposerModules,
  state: InterposeState,
  callerPath: CallerPath = samePath,
): Promise<InterposeOutcome> {
  let globals: RuncGlobals | undefined;
  try {
    const inv = parseRuncArgv(argv, cwd);
    if (inv.subcommand !== 'other') globals = callerGlobals(inv.globals, callerPath);
    if (inv.subcommand === 'create') {
      const bundle = callerPath(inv.bundle);
      const spec = readJsonFile(join(bundle, 'config.json'));
      // Containers without the annotation (pod sandboxes of other runtimes, plain pods)
      // go straight to runc; shouldPatch makes the full decision for the rest.
      if (namesEnvironment(spec)) {
        // Named in any failure line, even one about another annotation.
        const named = (spec as { annotations: Record<string, unknown> }).annotations[ENVIRONMENT_ANNOTATION];
        if (typeof named === 'string') state.environment = named.trim().slice(0, 256);
        const { interposeCreate } = await modules.create();
        await interposeCreate({ ...inv, bundle }, spec, state, { bundle: inv.bundle, path: callerPath });
      }
    } else if (inv.subcommand === 'exec') {
      const recorded = inv.processFile === undefined ? undefined : bundleOfContainer(callerPath(inv.globals.root), inv.containerId);
      const bundle = recorded === undefined ? undefined : callerPath(recorded);
      if (bundle !== undefined && existsSync(join(bundle, EXEC_PLAN_FILE))) {
        const { interposeExec } = await modules.exec();
        interposeExec({ ...inv, processFile: inv.processFile === undefined ? undefined : callerPath(inv.processFile) }, bundle, state);
      }
    }
    return { ok: true };
  } catch (error) {
    return failure(error, state, globals);
  }
}

function namesEnvironment(spec: unknown): boolean {
  const annotations = (spec as { annotations?: unknown } | null)?.annotations;
  if (typeof annotations !== 'object' || annotations === null) return false;
  if ((annotations as Record<string, unknown>)[SANDBOX_ANNOTATION] === 'sandbox') return false;
  const value = (annotations as Record<string, unknown>)[ENVIRONMENT_ANNOTATION];
  return typeof value !== 'string' || value.trim() !== '';
}

/**
 * The one failure line (`flox-k8s: environment X: CODE: message`), logged and appended
 * to runc's log, where containerd finds it for the CRI error kubelet shows as the pod event.
 */
export function failure(error: unknown, state: InterposeState, globals: RuncGlobals | undefined): InterposeOutcome {
  const { environment } = state;
  const code = errorCode(error) ?? 'FLOXK8S_INTERNAL';
  const what = environment === undefined ? 'flox-k8s' : `flox-k8s: environment ${environment}`;
  const message = `${what}: ${code}: ${(error as Error)?.message ?? String(error)}`.replace(/\s*\n\s*/g, ' ');
  state.log?.log('error', 'interposer failed', { code, error });
  if (globals !== undefined) appendRuncLogError(globals, message);
  return { ok: false, code, message };
}
