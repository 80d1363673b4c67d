import { chmod, cp, mkdir, readFile, rename, rm, writeFile } from 'node:fs/promises';
import { existsSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { FETCH_PROCESS_ENV, FETCH_PROCESS_ENV_SEPARATORS } from '@flox-k8s/nar/process-env';
import { FRONT_CONFIG_NAME, FRONT_SCRIPT_NAME } from '@flox-k8s/agent-protocol';
import { DEFAULT_PATCH_SERVICE_DIR } from '@flox-k8s/config';
import { singleQuote } from '@flox-k8s/core';
import { FETCH_WORKER_BUNDLE, INTERPOSER_BUNDLE, buildBundle, installRuntimePackages } from './bundle.ts';
import { LayoutTemplateError } from './errors.ts';
import { FRONT_BINARY, placeFront } from './front.ts';
import type { ShimPrograms } from './programs.ts';

export type { ShimPrograms } from './programs.ts';


export interface InstallLayoutOptions {
  /** The programs to lay out (the shim app's `shimPrograms`). */
  programs: ShimPrograms;
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
  /** Node compile-cache directory for the interposer (created when given; default DEFAULT_COMPILE_CACHE, not created). */
  compileCache?: string;
  /** Bundle from source with esbuild instead of copying the prebuilt `bundle/` (default: only when there is none). */
  fromSource?: boolean;
  /**
   * The node agent's patch service directory the front hands create/exec to (config
   * `patchServiceDir`; default DEFAULT_PATCH_SERVICE_DIR; '' = never hand off).
   */
  patchServiceDir?: string;
  /**
   * The compiled runc front (`programs.frontSource`, or `runc-front` in the prebuilt bundle) as
   * `libexec/flox-k8s/runc`, the sh front beside it as `runc.sh`: undefined (default) when there
   * is one or a C compiler makes one, true to require it (FLOXK8S_LAYOUT_FRONT_BUILD), false for
   * the sh front alone as `runc`.
   */
  compiledFront?: boolean;
}

export interface InstallLayout {
  prefix: string;
  /** `<prefix>/bin/containerd-shim-flox-v2`: put `<prefix>/bin` on containerd's PATH. */
  launcher: string;
  /** `<prefix>/libexec/flox-k8s/runc`: the compiled front, or the sh front when there is none. */
  interposer: string;
  /** The sh front: `<prefix>/libexec/flox-k8s/runc.sh` beside a compiled front, else `interposer` itself. */
  frontScript: string;
  /** Whether `interposer` is the compiled front. */
  compiledFront: boolean;
  /** `<prefix>/lib/<entry>.mjs` (cold-start chunks beside them in `lib/chunks/`). */
  bundles: string[];
}

/** Default directory of the interposer's Node compile cache. */
export const DEFAULT_COMPILE_CACHE: string = '/var/cache/flox-k8s/node-compile-cache';
/** The launcher's file name: what containerd looks up for `runtime_type = "io.containerd.flox.v2"`. */
export const LAUNCHER_NAME: string = 'containerd-shim-flox-v2';
/** The launcher, relative to the layout's prefix. */
export const LAUNCHER_PATH: string = `bin/${LAUNCHER_NAME}`;
/** The directory the launcher puts first on `PATH` (it holds the runc front), relative to the prefix. */
export const FRONT_DIR = 'libexec/flox-k8s';

/**
 * Lays out an install directory: the sh launcher, the sh runc front and the
 * bundled Node entry points, with the given paths baked in.
 */
export async function installLayout(options: InstallLayoutOptions): Promise<InstallLayout> {
  const prefix = options.prefix.replace(/\/+$/, '');
  const { programs } = options;
  const binDir = join(prefix, 'bin');
  const libexecDir = join(prefix, FRONT_DIR);
  const libDir = join(prefix, 'lib');
  await Promise.all([binDir, libexecDir, libDir].map((d) => mkdir(d, { recursive: true })));

  let bundles: string[];
  const { prebuilt } = programs;
  const prebuiltComplete = prebuilt !== undefined && [INTERPOSER_BUNDLE, FETCH_WORKER_BUNDLE].every((b) => existsSync(join(prebuilt, `${b}.mjs`)));
  if (prebuilt === undefined || (options.fromSource ?? !prebuiltComplete)) bundles = await buildBundle(libDir, programs);
  else {
    // The compiled front goes to libexec/ (below), not lib/.
    await cp(prebuilt, libDir, { recursive: true, filter: (src) => src !== join(prebuilt, FRONT_BINARY) });
    // Beside the bundles, from the koffi installed with @flox-k8s/nar (npm packs no node_modules,
    // so a published prebuilt bundle comes without them).
    await installRuntimePackages(libDir);
    bundles = [FETCH_WORKER_BUNDLE, INTERPOSER_BUNDLE].map((b) => join(libDir, `${b}.mjs`));
  }

  const node = options.node ?? process.execPath;

  const configExport = options.config === undefined ? '' : `: "\${FLOXK8S_CONFIG:=${options.config.replaceAll(/["$`\\]/g, '\\$&')}}"\nexport FLOXK8S_CONFIG`;
  const launcher = join(prefix, LAUNCHER_PATH);
  await writeExecutable(
    launcher,
    fill(await readFile(programs.launcher, 'utf8'), {
      LIBEXEC_DIR: singleQuote(libexecDir),
      CONFIG_EXPORT: configExport,
      SHIM_RUNC_V2: options.shimRuncV2 === undefined ? 'containerd-shim-runc-v2' : singleQuote(options.shimRuncV2),
    }),
  );
  const interposer = join(libexecDir, 'runc');
  const compiled =
    options.compiledFront === false
      ? undefined
      : await placeFront(`${interposer}.compiled`, {
          prebuilt: prebuilt === undefined ? undefined : join(prebuilt, FRONT_BINARY),
          source: programs.frontSource,
          fromSource: options.fromSource === true || !prebuiltComplete,
          required: options.compiledFront === true,
        });
  const frontScript = compiled === undefined ? interposer : join(libexecDir, FRONT_SCRIPT_NAME);
  const compileCache = options.compileCache ?? DEFAULT_COMPILE_CACHE;
  // Node silently runs without its compile cache when the directory cannot be made.
  if (options.compileCache !== undefined) await mkdir(compileCache, { recursive: true }).catch(() => undefined);
  await writeExecutable(
    frontScript,
    fill(await readFile(programs.front, 'utf8'), {
      NODE: singleQuote(node),
      ENTRY: singleQuote(join(libDir, `${INTERPOSER_BUNDLE}.mjs`)),
      REAL_RUNC: singleQuote(options.runc ?? ''),
      SELF: singleQuote(interposer),
      PATCH_SERVICE_DIR: singleQuote(options.patchServiceDir ?? DEFAULT_PATCH_SERVICE_DIR),
      NODE_ENV: nodeEnv(compileCache),
      CONFIG_EXPORT: configExport.replace(/^/gm, '  '),
    }),
  );
  // The sh front alone: nothing of an earlier compiled front may stay beside it.
  if (compiled === undefined) await Promise.all([FRONT_SCRIPT_NAME, FRONT_CONFIG_NAME].map((name) => rm(join(libexecDir, name), { force: true })));
  else {
    // Its settings first, then the program: a front never runs without them (it would run the script).
    await writeExecutable(join(libexecDir, FRONT_CONFIG_NAME), frontConfig(options.runc ?? '', options.patchServiceDir ?? DEFAULT_PATCH_SERVICE_DIR), 0o644);
    await chmod(compiled, 0o755);
    await rename(compiled, interposer);
  }
  return { prefix, launcher, interposer, frontScript, compiledFront: compiled !== undefined, bundles };
}

/**
 * The front's environment for the per-create Node: its compile cache, and the settings of a process
 * that fetches NARs (@flox-k8s/nar's FETCH_PROCESS_ENV), since with no agent that Node realises
 * closures itself. Lists (NODE_OPTIONS, GLIBC_TUNABLES) the host set for the shim come after ours,
 * so they win.
 */
function nodeEnv(compileCache: string): string {
  const lines = [`NODE_COMPILE_CACHE=${singleQuote(compileCache)}`];
  for (const [name, value] of Object.entries(FETCH_PROCESS_ENV)) {
    const separator = (FETCH_PROCESS_ENV_SEPARATORS as Record<string, string>)[name];
    lines.push(separator === undefined ? `${name}=${singleQuote(value)}` : `${name}=${singleQuote(value)}"\${${name}:+${separator}\$${name}}"`);
  }
  lines.push(`export NODE_COMPILE_CACHE ${Object.keys(FETCH_PROCESS_ENV).join(' ')}`);
  return lines.map((l) => `  ${l}`).join('\n');
}

/**
 * runc-front.conf: the real runc (empty: the front leaves the PATH search to the script) and the
 * patch service directory, one `key=value` line each; paths with a newline cannot be written.
 */
function frontConfig(runc: string, patcher: string): string {
  for (const value of [runc, patcher]) {
    if (/[\n\0]/.test(value) || (value !== '' && !value.startsWith('/'))) throw new LayoutTemplateError(`runc front: ${JSON.stringify(value)} is not an absolute path without newlines`);
  }
  return runc === '' ? `patcher=${patcher}\n` : `runc=${runc}\npatcher=${patcher}\n`;
}

function fill(text: string, values: Record<string, string>): string {
  return text.replace(/@([A-Z0-9_]+)@/g, (whole, key: string) => {
    const value = values[key];
    if (value === undefined) throw new LayoutTemplateError(`sh template: no value for ${whole}; the template and this version of @flox-k8s/shim-layout do not match`);
    return value;
  });
}

async function writeExecutable(path: string, text: string, mode = 0o755): Promise<void> {
  await mkdir(dirname(path), { recursive: true });
  const tmp = `${path}.tmp-${process.pid}`;
  await writeFile(tmp, text, { mode });
  await chmod(tmp, mode);
  await rename(tmp, path);
}
