import { execFile, spawn } from 'node:child_process';
import { promisify } from 'node:util';
import { HostCommandError } from '../errors.ts';
import type { HostActions } from './host-install.ts';

const run = promisify(execFile);

async function output(argv: readonly string[], timeoutMs: number): Promise<string> {
  const [file, ...args] = argv;
  if (file === undefined) throw new HostCommandError('expected a non-empty command, found []');
  try {
    const { stdout } = await run(file, args, { timeout: timeoutMs, maxBuffer: 16 << 20 });
    return stdout;
  } catch (error) {
    const stderr = String((error as { stderr?: unknown }).stderr ?? '').trim().slice(0, 500);
    throw new HostCommandError(`expected "${argv.join(' ')}" to succeed, found: ${stderr || (error as Error).message}`, { cause: error });
  }
}

/** Runs `argv` with `input` on its stdin (an image tarball for `ctr images import -`). */
async function withInput(argv: readonly string[], input: Uint8Array, timeoutMs: number): Promise<void> {
  const [file, ...args] = argv;
  if (file === undefined) throw new HostCommandError('expected a non-empty command, found []');
  const child = spawn(file, args, { stdio: ['pipe', 'ignore', 'pipe'], timeout: timeoutMs });
  let stderr = '';
  child.stderr.setEncoding('utf8').on('data', (chunk: string) => {
    if (stderr.length < 4096) stderr += chunk;
  });
  // A command that exits before reading everything closes the pipe: its exit status says why.
  child.stdin.on('error', () => undefined);
  child.stdin.end(input);
  const [status, signal] = await new Promise<[number | null, NodeJS.Signals | null]>((resolve, reject) => {
    child.on('error', reject);
    child.on('close', (code, sig) => resolve([code, sig]));
  }).catch((error: unknown) => {
    throw new HostCommandError(`expected "${argv.join(' ')}" to start, found: ${(error as Error).message}`, { cause: error });
  });
  if (status !== 0) {
    throw new HostCommandError(`expected "${argv.join(' ')}" to succeed, found ${signal ?? `exit status ${status}`}: ${stderr.trim().slice(0, 500)}`);
  }
}

export interface HostCommandSettings {
  versionCommand: string[];
  configDefaultCommand: string[];
  restartCommand: string[];
  healthCommand: string[];
  restartTimeoutSeconds: number;
  /** `ctr -n k8s.io images ls`, `… images import -` (tarball on stdin), `… images rm` (+ the name). */
  imageListCommand: string[];
  imageImportCommand: string[];
  imageRemoveCommand: string[];
}

/** `HostActions` that run configured commands (by default through nsenter into the host). */
export function commandActions(settings: HostCommandSettings): HostActions {
  return {
    containerdVersion: () => output(settings.versionCommand, 30_000),
    containerdConfigDefault: () => output(settings.configDefaultCommand, 30_000),
    listImages: () => output(settings.imageListCommand, 30_000),
    importImage: (tarball) => withInput(settings.imageImportCommand, tarball, 120_000),
    removeImage: async (name) => {
      await output([...settings.imageRemoveCommand, name], 30_000);
    },
    async restartContainerd() {
      const deadline = Date.now() + settings.restartTimeoutSeconds * 1000;
      await output(settings.restartCommand, settings.restartTimeoutSeconds * 1000);
      let last: unknown;
      while (Date.now() < deadline) {
        try {
          await output(settings.healthCommand, 10_000);
          return;
        } catch (error) {
          last = error;
          await new Promise((r) => setTimeout(r, 500));
        }
      }
      throw new HostCommandError(`expected containerd to answer "${settings.healthCommand.join(' ')}" within ${settings.restartTimeoutSeconds} s of the restart, found it did not`, { cause: last });
    },
  };
}
