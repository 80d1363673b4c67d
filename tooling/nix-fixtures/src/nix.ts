// Thin wrappers over the Nix 2.8 command line, all through runNix (nix-command.ts):
// the sandbox is off (the builders use the host's /bin/sh), builds run as root (a bare
// nix-bin install has no nixbld group) and no substituter is consulted: cache.nixos.org
// is not reachable here and the fixtures must not depend on it.
import { lstatSync } from 'node:fs';
import { readFile } from 'node:fs/promises';
import { NixOutputUnexpectedError } from './errors.ts';
import { runNix } from './nix-command.ts';
import { lines } from './run.ts';

export const STORE_DIR = '/nix/store';

export type Compression = 'xz' | 'zstd' | 'bzip2' | 'none';
export const COMPRESSIONS: readonly Compression[] = ['xz', 'zstd', 'bzip2', 'none'];

/** Instantiates `attrs` of the expression file and returns their .drv paths, in the order asked. */
export async function instantiate(
  expressionFile: string,
  attrs: readonly string[],
  args: Record<string, string>,
): Promise<string[]> {
  const argv = [expressionFile];
  for (const [name, value] of Object.entries(args)) argv.push('--arg', name, value);
  for (const attr of attrs) argv.push('-A', attr);
  const drvs = lines(await runNix('nix-instantiate', argv));
  if (drvs.length !== attrs.length) {
    throw new NixOutputUnexpectedError('nix-instantiate', `${attrs.length} .drv paths`, `${drvs.length}`);
  }
  return drvs;
}

/** Builds .drv paths and returns their `out` paths, in the same order. */
export async function realise(drvs: readonly string[]): Promise<string[]> {
  const outs = lines(await runNix('nix-store', ['--realise', ...drvs]));
  if (outs.length !== drvs.length) {
    throw new NixOutputUnexpectedError('nix-store --realise', `${drvs.length} output paths`, `${outs.length}`);
  }
  return outs;
}

/** Registers `link` as an indirect GC root for `storePath`, so `nix-collect-garbage` keeps the fixture. */
export async function addGcRoot(storePath: string, link: string): Promise<void> {
  await runNix('nix-store', ['--realise', storePath, '--add-root', link]);
}

/** The sorted closure (requisites) of the given store paths. */
export async function closureOf(storePaths: readonly string[]): Promise<string[]> {
  return lines(await runNix('nix-store', ['--query', '--requisites', ...storePaths])).sort();
}

/** Generates an ed25519 binary-cache key pair; returns the public key text (`name:base64`). */
export async function generateKey(name: string, secretKeyFile: string, publicKeyFile: string): Promise<string> {
  await runNix('nix-store', ['--generate-binary-cache-key', name, secretKeyFile, publicKeyFile]);
  return (await readFile(publicKeyFile, 'utf8')).trim();
}

/** Publishes the closure of `storePaths` as a signed `file://` binary cache in `dir`. */
export async function copyToFileCache(
  storePaths: readonly string[],
  dir: string,
  compression: Compression,
  secretKeyFile: string,
  settings: Record<string, string> = {},
): Promise<void> {
  const query = new URLSearchParams({ compression, 'secret-key': secretKeyFile, ...settings });
  const url = `file://${dir}?${query.toString().replaceAll('%2F', '/')}`;
  await runNix('nix', ['copy', '--to', url, ...storePaths]);
}

/** True when every path is present in the host store (a cheap check: no Nix invocation; synchronous lstat, ~3 µs a path). */
export async function allPresent(storePaths: readonly string[]): Promise<boolean> {
  return Promise.resolve(storePaths.every((storePath) => lstatSync(storePath, { throwIfNoEntry: false }) !== undefined));
}

/** Builds every output of the .drv paths (dependencies first, as Nix schedules them, `maxJobs` at a time). */
export async function realiseAll(drvs: readonly string[], options: { maxJobs?: number } = {}): Promise<void> {
  await runNix('nix-store', ['--realise', '--max-jobs', String(options.maxJobs ?? 1), ...drvs]);
}

/** Output name → store path of each .drv (`nix show-derivation`), keyed by .drv path. */
export async function derivationOutputs(drvs: readonly string[]): Promise<Map<string, Record<string, string>>> {
  const shown = JSON.parse(await runNix('nix', ['show-derivation', ...drvs])) as Record<string, { outputs?: Record<string, { path?: string }> }>;
  const out = new Map<string, Record<string, string>>();
  for (const drv of drvs) {
    const outputs = shown[drv]?.outputs;
    if (outputs === undefined) throw new NixOutputUnexpectedError('nix show-derivation', `the outputs of ${drv}`, 'none');
    const paths: Record<string, string> = {};
    for (const [name, { path }] of Object.entries(outputs)) {
      if (path === undefined) throw new NixOutputUnexpectedError('nix show-derivation', `a path for output ${name} of ${drv}`, 'none');
      paths[name] = path;
    }
    out.set(drv, paths);
  }
  return out;
}

/** Nix's own listing of the closure of `storePaths`: `nix path-info --json --recursive` (path, narHash, narSize, references). */
export async function closurePathInfo(storePaths: readonly string[]): Promise<string> {
  return runNix('nix', ['path-info', '--json', '--recursive', ...storePaths]);
}
