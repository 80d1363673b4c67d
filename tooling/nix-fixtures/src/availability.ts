import { isCi } from './env.ts';
import { runNixSync } from './nix-command.ts';

/**
 * Why a suite needing real Nix (as root) cannot run here, or `undefined` when it can.
 * Under `CI=true` it is always `undefined`: CI installs Nix, so a missing tool must fail, not skip.
 */
export function nixSkipReason(): string | undefined {
  if (isCi()) return undefined;
  try {
    runNixSync('nix-store', ['--version'], { timeoutMs: 30_000 });
  } catch {
    return 'nix-store not found (apt-get install nix-bin)';
  }
  if (process.getuid?.() !== 0) return 'the fixture builder writes to /nix/store and needs root';
  return undefined;
}
