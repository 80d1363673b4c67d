import { execFile } from 'node:child_process';
import { promisify } from 'node:util';
import { ImageInputInvalidError } from './errors.ts';

const run = promisify(execFile);

/**
 * Shared libraries a dynamically linked program needs, from `ldd` (absolute paths, sorted):
 * what an image must carry beside the program (e.g. Node in a distroless image). A static
 * binary has none. Throws `FLOXK8S_IMAGE_INPUT_INVALID` when ldd cannot list them.
 */
export async function sharedLibraries(binary: string): Promise<string[]> {
  let stdout: string;
  try {
    ({ stdout } = await run('ldd', [binary]));
  } catch (cause) {
    // Static binaries make ldd exit 1 ("not a dynamic executable").
    if (/not a dynamic executable/.test(String((cause as { stdout?: string; stderr?: string }).stderr ?? '') + String((cause as { stdout?: string }).stdout ?? ''))) return [];
    throw new ImageInputInvalidError(`expected ldd to list the libraries of ${binary}, found an error`, { cause });
  }
  const libs = new Set<string>();
  for (const line of stdout.split('\n')) {
    const m = /=>\s+(\/\S+)/.exec(line) ?? /^\s*(\/\S+)\s+\(/.exec(line);
    if (m?.[1]) libs.add(m[1]);
  }
  return [...libs].sort();
}

const LDCONFIG = ['/usr/sbin/ldconfig', '/sbin/ldconfig', 'ldconfig'];

// ldconfig's name for this process's ABI in its cache listing (`libc6,x86-64`, `libc6,AArch64`).
const LDCONFIG_ABI: Record<string, string> = { x64: 'libc6,x86-64', arm64: 'libc6,AArch64' };

/**
 * Where the dynamic loader finds the shared library `soname` on this host (`ldconfig -p`, for this
 * process's architecture): for a library that a program loads with dlopen(3) rather than links (koffi
 * loads libzstd.so.1 in the node agent), so that `ldd` of no program lists it. Throws
 * `FLOXK8S_IMAGE_INPUT_INVALID` when the host has none.
 */
export async function libraryPath(soname: string): Promise<string> {
  let stdout: string | undefined;
  let failure: unknown;
  // ldconfig lives in an sbin, which a non-root PATH may leave out.
  for (const ldconfig of LDCONFIG) {
    try {
      ({ stdout } = await run(ldconfig, ['-p']));
      break;
    } catch (cause) {
      failure ??= cause;
    }
  }
  if (stdout === undefined) throw new ImageInputInvalidError(`expected ldconfig -p to list the host's shared libraries (for ${soname}), found an error`, { cause: failure });
  const abi = LDCONFIG_ABI[process.arch];
  for (const line of stdout.split('\n')) {
    const m = /^\s*(\S+)\s+\(([^)]*)\)\s+=>\s+(\/\S+)$/.exec(line);
    if (m?.[1] === soname && (abi === undefined || m[2]!.split(',').slice(0, 2).join(',') === abi)) return m[3]!;
  }
  throw new ImageInputInvalidError(`expected the shared library ${soname} on this host (ldconfig -p), found none; install it`);
}
