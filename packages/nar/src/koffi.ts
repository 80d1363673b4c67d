// koffi (a C FFI for Node with prebuilt binaries on npm), loaded the one way this package loads it:
// required, not imported, so that a bundle can keep it outside (its native module is found next to
// its own files: @flox-k8s/shim-layout puts it in a node_modules beside every bundle) and so that
// programs that never call C (a warm container start) never load it.
import { createRequire } from 'node:module';

/** A C function bound by koffi: called synchronously, or on libuv's pool through `async`. */
export interface KoffiFunction {
  (...args: unknown[]): unknown;
  async: (...args: unknown[]) => void;
}

/** The part of koffi's API this package uses. */
export interface Koffi {
  load(path: string): { func(signature: string): KoffiFunction };
  struct(name: string, fields: Record<string, string>): unknown;
  sizeof(type: unknown): number;
  offsetof(type: unknown, field: string): number;
  address(value: Uint8Array): bigint;
}

let loaded: Koffi | Error | undefined;

/** koffi, or why it does not load here (not installed beside this program, no binary for this platform); memoised. */
export function loadKoffi(): Koffi | Error {
  if (loaded === undefined) {
    try {
      loaded = createRequire(import.meta.url)('koffi') as Koffi;
    } catch (err) {
      loaded = new Error(`koffi does not load here: ${(err as Error).message.split('\n')[0]}`);
    }
  }
  return loaded;
}
