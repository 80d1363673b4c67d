// The one way this repository runs a Nix command (fixtures, tests, benches). A bare
// `apt-get install nix-bin` has no `nixbld` group, no daemon and no network to
// cache.nixos.org, and Nix 2.8 keeps `nix copy`/`nix path-info` behind an
// experimental feature; every command gets the settings that make it work there.
import { spawnSync } from 'node:child_process';
import { nixProcessEnv } from './env.ts';
import { NixCommandError } from './errors.ts';
import { run, shownCommand } from './run.ts';

/**
 * Settings every Nix command gets: builds run as the calling user (root) instead of
 * `nixbld` build users, without the sandbox (fixture builders read host files), with no
 * substituter (nothing is fetched from outside), and with the `nix-command` feature.
 */
export const BARE_INSTALL_OPTIONS: readonly string[] = [
  '--option', 'build-users-group', '',
  '--option', 'sandbox', 'false',
  '--option', 'substituters', '',
  '--option', 'extra-experimental-features', 'nix-command',
];

/** The Nix programs this repository runs (all from Debian's nix-bin). */
export type NixProgram = 'nix' | 'nix-store' | 'nix-env' | 'nix-instantiate' | 'nix-build' | 'nix-hash' | 'nix-collect-garbage';

export interface NixRunOptions {
  /** Added to the caller's environment (proxies are always dropped: caches are on loopback). */
  env?: Record<string, string>;
  cwd?: string;
  /** Kill the command after this long (default 20 min); every wait is bounded. */
  timeoutMs?: number;
  /** Bytes for the command's stdin (e.g. a NAR for `nix-store --restore`). */
  input?: Uint8Array | string;
}

/** The argv of a Nix command with the bare-install settings: `{ command, args }` for spawn/execFile. */
export function nixCommand(program: NixProgram, args: readonly string[]): { command: NixProgram; args: string[] } {
  return { command: program, args: [...BARE_INSTALL_OPTIONS, ...args] };
}

/** Runs a Nix command; resolves to its stdout, rejects with `NixCommandError` (`FLOXK8S_FIXTURE_NIX_FAILED`, with stderr). */
export function runNix(program: NixProgram, args: readonly string[], options: NixRunOptions = {}): Promise<string> {
  const { command, args: argv } = nixCommand(program, args);
  return run(command, argv, options);
}

/** `runNix`, blocking; `encoding: 'buffer'` returns stdout as bytes (e.g. `nix-store --dump`). */
export function runNixSync(program: NixProgram, args: readonly string[], options: NixRunOptions & { encoding: 'buffer' }): Buffer;
export function runNixSync(program: NixProgram, args: readonly string[], options?: NixRunOptions & { encoding?: 'utf8' }): string;
export function runNixSync(
  program: NixProgram,
  args: readonly string[],
  options: NixRunOptions & { encoding?: 'utf8' | 'buffer' } = {},
): string | Buffer {
  const { command, args: argv } = nixCommand(program, args);
  const shown = shownCommand(command, argv);
  const result = spawnSync(command, argv, {
    cwd: options.cwd,
    env: nixProcessEnv(options.env),
    input: options.input,
    timeout: options.timeoutMs ?? 20 * 60_000,
    killSignal: 'SIGKILL',
    maxBuffer: 4 << 30,
    stdio: ['pipe', 'pipe', 'pipe'],
  });
  const stderr = result.stderr.toString('utf8');
  if (result.error !== undefined) throw new NixCommandError(shown, null, `${stderr}${String(result.error)}`, { cause: result.error });
  if (result.status !== 0) {
    throw new NixCommandError(shown, result.status, result.signal ? `${stderr}\n(killed by ${result.signal})` : stderr);
  }
  return options.encoding === 'buffer' ? result.stdout : result.stdout.toString('utf8');
}

/** A Nix command as one shell word list (single-quoted), for benchmarks that time a shell pipeline. */
export function nixShellCommand(program: NixProgram, args: readonly string[]): string {
  const { command, args: argv } = nixCommand(program, args);
  return [command, ...argv].map((word) => `'${word.replaceAll("'", `'\\''`)}'`).join(' ');
}
