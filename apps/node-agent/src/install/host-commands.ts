import { execFile } from 'node:child_process';
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

export interface HostCommandSettings {
  versionCommand: string[];
  configDefaultCommand: string[];
  restartCommand: string[];
  healthCommand: string[];
  restartTimeoutSeconds: number;
}

/** `HostActions` that run configured commands (by default through nsenter into the host). */
export function commandActions(settings: HostCommandSettings): HostActions {
  return {
    containerdVersion: () => output(settings.versionCommand, 30_000),
    containerdConfigDefault: () => output(settings.configDefaultCommand, 30_000),
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
