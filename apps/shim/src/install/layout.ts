import { chmod, cp, mkdir, readFile, rename, writeFile } from 'node:fs/promises';
import { existsSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { UsageError } from '../errors.ts';
import { BUNDLE_ENTRIES, buildBundle } from './bundle.ts';

export interface InstallLayoutOptions {
  /** Install root: gets bin/, libexec/flox-k8s/ and lib/. */
  prefix: string;
  /** Node binary the interposer runs on (default: the one running this). */
  node?: string;
  /** The real runc; when absent the interposer uses the first other `runc` on PATH. */
  runc?: string;
  /** containerd-shim-runc-v2 to hand over to; when absent, looked up on PATH at run time. */
  shimRuncV2?: string;
  /** Default config file path baked into the fronts (FLOXK8S_CONFIG still wins). */
  config?: string;
  /** Node compile-cache directory for the interposer. */
  compileCache?: string;
  /** Bundle from source with esbuild instead of copying the prebuilt `bundle/` (default: only when there is none). */
  fromSource?: boolean;
}

export interface InstallLayout {
  prefix: string;
  /** `<prefix>/bin/containerd-shim-flox-v2`: put `<prefix>/bin` on containerd's PATH. */
  launcher: string;
  /** `<prefix>/libexec/flox-k8s/runc`. */
  interposer: string;
  /** `<prefix>/lib/<entry>.mjs` (cold-start chunks beside them in `lib/chunks/`). */
  bundles: string[];
}

const PACKAGE_ROOT = fileURLToPath(new URL('../../', import.meta.url));
export const DEFAULT_COMPILE_CACHE = '/var/cache/flox-k8s/node-compile-cache';

/** Single-quotes a value for POSIX sh. */
export function shQuote(value: string): string {
  return `'${value.replaceAll("'", `'\\''`)}'`;
}

/**
 * Lays out an install directory: the sh launcher, the sh runc front and the
 * bundled Node entry points, with the given paths baked in.
 */
export async function installLayout(options: InstallLayoutOptions): Promise<InstallLayout> {
  const prefix = options.prefix.replace(/\/+$/, '');
  const binDir = join(prefix, 'bin');
  const libexecDir = join(prefix, 'libexec', 'flox-k8s');
  const libDir = join(prefix, 'lib');
  await Promise.all([binDir, libexecDir, libDir].map((d) => mkdir(d, { recursive: true })));

  let bundles: string[];
  const prebuilt = join(PACKAGE_ROOT, 'bundle');
  if (options.fromSource ?? !existsSync(join(prebuilt, 'runc-interposer.mjs'))) bundles = await buildBundle(libDir);
  else {
    await cp(prebuilt, libDir, { recursive: true });
    bundles = Object.keys(BUNDLE_ENTRIES).map((name) => join(libDir, `${name}.mjs`));
  }

  const configExport = options.config === undefined ? '' : `: "\${FLOXK8S_CONFIG:=${options.config.replaceAll(/["$`\\]/g, '\\$&')}}"\nexport FLOXK8S_CONFIG`;
  const launcher = join(binDir, 'containerd-shim-flox-v2');
  await writeExecutable(
    launcher,
    fill(await template('containerd-shim-flox-v2.sh'), {
      LIBEXEC_DIR: shQuote(libexecDir),
      CONFIG_EXPORT: configExport,
      SHIM_RUNC_V2: options.shimRuncV2 === undefined ? 'containerd-shim-runc-v2' : shQuote(options.shimRuncV2),
    }),
  );
  const interposer = join(libexecDir, 'runc');
  const compileCache = options.compileCache ?? DEFAULT_COMPILE_CACHE;
  await writeExecutable(
    interposer,
    fill(await template('runc.sh'), {
      NODE: shQuote(options.node ?? process.execPath),
      ENTRY: shQuote(join(libDir, 'runc-interposer.mjs')),
      REAL_RUNC: shQuote(options.runc ?? ''),
      SELF: shQuote(interposer),
      NODE_ENV: `  NODE_COMPILE_CACHE=${shQuote(compileCache)}\n  export NODE_COMPILE_CACHE`,
      CONFIG_EXPORT: configExport.replace(/^/gm, '  '),
    }),
  );
  return { prefix, launcher, interposer, bundles };
}

async function template(name: string): Promise<string> {
  return readFile(join(PACKAGE_ROOT, 'sh', name), 'utf8');
}

function fill(text: string, values: Record<string, string>): string {
  return text.replace(/@([A-Z0-9_]+)@/g, (whole, key: string) => {
    const value = values[key];
    if (value === undefined) throw new UsageError(`sh template: no value for ${whole}`);
    return value;
  });
}

async function writeExecutable(path: string, text: string): Promise<void> {
  await mkdir(dirname(path), { recursive: true });
  const tmp = `${path}.tmp-${process.pid}`;
  await writeFile(tmp, text, { mode: 0o755 });
  await chmod(tmp, 0o755);
  await rename(tmp, path);
}
