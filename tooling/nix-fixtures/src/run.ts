import { spawn } from 'node:child_process';
import { nixProcessEnv } from './env.ts';
import { NixCommandError } from './errors.ts';

export interface RunOptions {
  env?: Record<string, string>;
  cwd?: string;
  /** Kill the command after this long; every wait is bounded. */
  timeoutMs?: number;
  /** Bytes for the command's stdin (none: stdin is closed). */
  input?: Uint8Array | string;
}

/** Runs a command to completion and returns its stdout; throws `NixCommandError` with stderr on failure. */
export function run(command: string, args: readonly string[], options: RunOptions = {}): Promise<string> {
  const shown = shownCommand(command, args);
  return new Promise((resolve, reject) => {
    const child = spawn(command, args, {
      cwd: options.cwd,
      env: nixProcessEnv(options.env),
      stdio: ['pipe', 'pipe', 'pipe'],
    });
    // A command that exits without reading all of its input must not crash us with EPIPE.
    child.stdin.on('error', () => undefined);
    child.stdin.end(options.input);
    const out: Buffer[] = [];
    const err: Buffer[] = [];
    child.stdout.on('data', (chunk: Buffer) => out.push(chunk));
    child.stderr.on('data', (chunk: Buffer) => err.push(chunk));
    const timer = setTimeout(() => child.kill('SIGKILL'), options.timeoutMs ?? 20 * 60_000);
    child.on('error', (cause) => {
      clearTimeout(timer);
      reject(new NixCommandError(shown, null, String(cause), { cause }));
    });
    child.on('close', (code, signal) => {
      clearTimeout(timer);
      const stderr = Buffer.concat(err).toString('utf8');
      if (code === 0) resolve(Buffer.concat(out).toString('utf8'));
      else reject(new NixCommandError(shown, code, signal ? `${stderr}\n(killed by ${signal})` : stderr));
    });
  });
}

/** Non-empty trimmed lines of a command's output. */
export function lines(text: string): string[] {
  return text
    .split('\n')
    .map((line) => line.trim())
    .filter((line) => line !== '');
}

/** A command line for an error message: long argument lists (hundreds of .drv paths) are cut. */
export function shownCommand(command: string, args: readonly string[]): string {
  const words = [command, ...args];
  return words.length > 16 ? `${words.slice(0, 16).join(' ')} … (${words.length - 16} more arguments)` : words.join(' ');
}
