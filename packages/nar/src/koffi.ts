// koffi (a C FFI for Node with prebuilt binaries on npm), loaded the one way this package loads it:
// required, not imported, so that a bundle can keep it outside (its native module is found next to
// its own files: @flox-k8s/shim-layout puts it in a node_modules beside every bundle) and so that
// programs that never call C (a warm container start) never load it. Other packages of ours that call
// C load it through here (`@flox-k8s/nar/koffi`).
import { createRequire } from 'node:module';
import { endianness } from 'node:os';

/** A C function bound by koffi: called synchronously, or on libuv's pool through `async`. */
export interface KoffiFunction {
  (...args: unknown[]): unknown;
  async: (...args: unknown[]) => void;
}

/** A shared library loaded by koffi. */
export interface KoffiLibrary {
  func(signature: string): KoffiFunction;
}

/** The part of koffi's API this package uses. */
export interface Koffi {
  load(path: string): KoffiLibrary;
  struct(name: string, fields: Record<string, string>): unknown;
  sizeof(type: unknown): number;
  offsetof(type: unknown, field: string): number;
  address(value: Uint8Array): bigint;
  /** The calling thread's errno, as the last C function called left it. */
  errno(): number;
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

/**
 * A C library (`library`: a soname or a path) loaded through koffi, or why not: koffi does not load,
 * this is not a 64-bit little-endian process (the callers write their C structs' fields as 64-bit
 * little-endian integers), or the library is missing. `name` names it in the reason.
 */
export function loadLibrary(name: string, library: string): { koffi: Koffi; lib: KoffiLibrary } | Error {
  if (endianness() !== 'LE') return new Error(`${name} is only called from little-endian processes`);
  const koffi = loadKoffi();
  if (koffi instanceof Error) return koffi;
  if (koffi.sizeof('void *') !== 8 || koffi.sizeof('size_t') !== 8) return new Error(`${name} is only called from 64-bit processes`);
  try {
    return { koffi, lib: koffi.load(library) };
  } catch (err) {
    return new Error(`cannot load ${library}: ${(err as Error).message}`);
  }
}

/** `bind` memoised per library path, its failure (an Error returned or thrown) included. */
export function perLibrary<T>(bind: (library: string) => T | Error): (library: string) => T | Error {
  const bound = new Map<string, T | Error>();
  return (library) => {
    let binding = bound.get(library);
    if (binding === undefined) {
      try {
        binding = bind(library);
      } catch (err) {
        binding = err instanceof Error ? err : new Error(String(err));
      }
      bound.set(library, binding);
    }
    return binding;
  };
}

/** What a library binding says of itself for a status report: its version, or why it did not load. */
export function libraryStatus(binding: { version: string } | Error): { loaded: true; version: string } | { loaded: false; reason: string } {
  return binding instanceof Error ? { loaded: false, reason: binding.message } : { loaded: true, version: binding.version };
}
