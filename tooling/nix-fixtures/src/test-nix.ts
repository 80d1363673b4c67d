// Test-only helpers (excluded from the build): running real Nix against a
// throwaway chroot store, and temp dirs.
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { runNix } from './nix-command.ts';

export { nixSkipReason } from './availability.ts';

/** Runs `nix <args>` (through runNix: bare-install settings, no substituters) with a private Nix cache dir. */
export function nix(args: readonly string[], xdgCacheHome: string): Promise<string> {
  return runNix('nix', args, {
    env: { XDG_CACHE_HOME: xdgCacheHome },
    timeoutMs: 120_000,
  });
}

/** A temp directory removed by the returned `cleanup`. */
export async function tempDir(prefix: string): Promise<{ dir: string; cleanup: () => Promise<void> }> {
  const dir = await mkdtemp(join(tmpdir(), `flox-k8s-${prefix}-`));
  return { dir, cleanup: () => rm(dir, { recursive: true, force: true }) };
}
