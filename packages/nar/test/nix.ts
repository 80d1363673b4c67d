// Helpers that run the real Nix CLI in tests.
import { execFileSync } from 'node:child_process';

/** `nix-store --dump <path>` as bytes. */
export function nixDump(path: string): Buffer {
  return execFileSync('nix-store', ['--dump', path], { maxBuffer: 1 << 30 });
}

/** `nix-store --restore <dest>` from NAR bytes (Nix's own reader, as a reference). */
export function nixRestore(nar: Uint8Array, dest: string): void {
  execFileSync('nix-store', ['--restore', dest], { input: nar, stdio: ['pipe', 'ignore', 'pipe'] });
}

/** Run nix-hash with args and return trimmed stdout. */
export function nixHash(...args: string[]): string {
  return execFileSync('nix-hash', args, { encoding: 'utf8' }).trim();
}
