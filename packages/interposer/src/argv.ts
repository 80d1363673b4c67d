import { resolve } from 'node:path';
import { RuncArgvError } from './errors.ts';

// runc's global flags that take a value (urfave/cli accepts -flag and --flag, with
// the value as the next argument or after "="). Everything else before the
// subcommand is a boolean (--debug, --systemd-cgroup, --help, --version).
const GLOBAL_VALUE_FLAGS = new Set(['log', 'log-format', 'root', 'criu', 'rootless']);
const CREATE_VALUE_FLAGS = new Set(['bundle', 'b', 'console-socket', 'pid-file', 'preserve-fds']);
const EXEC_VALUE_FLAGS = new Set([
  'console-socket', 'cwd', 'env', 'e', 'user', 'u', 'additional-gids', 'g', 'process', 'p',
  'pid-file', 'process-label', 'apparmor', 'cap', 'c', 'preserve-fds', 'cgroup',
]);

/** runc's global flags we use: its state root and where it logs (containerd reads errors there). */
export interface RuncGlobals {
  root: string;
  log: string | undefined;
  logFormat: string | undefined;
}

export type RuncInvocation =
  | { subcommand: 'create'; globals: RuncGlobals; bundle: string; containerId: string }
  | { subcommand: 'exec'; globals: RuncGlobals; processFile: string | undefined; containerId: string }
  | { subcommand: 'other'; name: string | undefined };

/** runc's default state root when `--root` is not given. */
export const DEFAULT_RUNC_ROOT = '/run/runc';

/**
 * Finds what a runc command line does: the subcommand after the global flags and,
 * for `create`/`exec`, the bundle, process file and container id.
 * `cwd` is the bundle when `--bundle` is absent (runc's own rule).
 */
export function parseRuncArgv(argv: readonly string[], cwd: string): RuncInvocation {
  const globals: RuncGlobals = { root: DEFAULT_RUNC_ROOT, log: undefined, logFormat: undefined };
  let i = 0;
  for (; i < argv.length; i++) {
    const flag = splitFlag(argv[i] as string);
    if (flag === undefined) break;
    if (flag.name === '') return { subcommand: 'other', name: undefined }; // "--": not a runc form
    if (GLOBAL_VALUE_FLAGS.has(flag.name)) {
      const value = flag.value ?? argv[++i];
      if (value === undefined) throw new RuncArgvError(`runc flag --${flag.name} needs a value`);
      if (flag.name === 'root') globals.root = value;
      else if (flag.name === 'log') globals.log = value;
      else if (flag.name === 'log-format') globals.logFormat = value;
    }
  }
  const name = argv[i];
  if (name !== 'create' && name !== 'exec') return { subcommand: 'other', name };
  const rest = argv.slice(i + 1);
  const valueFlags = name === 'create' ? CREATE_VALUE_FLAGS : EXEC_VALUE_FLAGS;
  const values = new Map<string, string>();
  let j = 0;
  for (; j < rest.length; j++) {
    const flag = splitFlag(rest[j] as string);
    if (flag === undefined) break;
    if (flag.name === '') {
      j++;
      break;
    }
    if (valueFlags.has(flag.name)) {
      const value = flag.value ?? rest[++j];
      if (value === undefined) throw new RuncArgvError(`runc ${name} flag --${flag.name} needs a value`);
      values.set(flag.name, value);
    }
  }
  const containerId = rest[j];
  if (containerId === undefined || containerId === '') throw new RuncArgvError(`runc ${name}: no container id in ${JSON.stringify(argv)}`);
  if (name === 'create') {
    const bundle = values.get('bundle') ?? values.get('b') ?? cwd;
    return { subcommand: 'create', globals, bundle: resolveFrom(cwd, bundle), containerId };
  }
  const processFile = values.get('process') ?? values.get('p');
  return { subcommand: 'exec', globals, processFile: processFile === undefined ? undefined : resolveFrom(cwd, processFile), containerId };
}

function splitFlag(arg: string): { name: string; value: string | undefined } | undefined {
  if (!arg.startsWith('-') || arg === '-') return undefined;
  const body = arg.replace(/^--?/, '');
  const eq = body.indexOf('=');
  return eq < 0 ? { name: body, value: undefined } : { name: body.slice(0, eq), value: body.slice(eq + 1) };
}

function resolveFrom(cwd: string, path: string): string {
  return resolve(cwd, path);
}
