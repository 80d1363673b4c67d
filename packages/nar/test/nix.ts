// Helpers that run the real Nix CLI in tests, through the fixtures' Nix helper (bare-install settings).
import { runNixSync } from '@flox-k8s/nix-fixtures';

/** `nix-store --dump <path>` as bytes. */
export function nixDump(path: string): Buffer {
  return runNixSync('nix-store', ['--dump', path], { encoding: 'buffer' });
}

/** `nix-store --restore <dest>` from NAR bytes (Nix's own reader, as a reference). */
export function nixRestore(nar: Uint8Array, dest: string): void {
  runNixSync('nix-store', ['--restore', dest], { input: nar });
}

/** Run nix-hash with args and return trimmed stdout. */
export function nixHash(...args: string[]): string {
  return runNixSync('nix-hash', args).trim();
}
