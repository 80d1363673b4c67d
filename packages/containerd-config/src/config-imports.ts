import { readdir, readFile } from 'node:fs/promises';
import { basename, dirname, isAbsolute, join } from 'node:path';
import { ContainerdConfigInvalidError } from './errors.ts';
import { allCriPluginKeys, configFormat, type ConfigFormat, findRuntimeBlock, parseConfig, removeRuntime } from './runtime-block.ts';

/** One file containerd loads, in load order. Paths are host paths. */
export interface LoadedConfig {
  path: string;
  /** `undefined` when the main config file does not exist (containerd then runs on defaults). */
  text: string | undefined;
  format: ConfigFormat;
  /** Whether the file defines a CRI plugin table (ours excluded). */
  definesCri: boolean;
  /** Whether the file holds the agent's marked block. */
  hasFloxBlock: boolean;
  imports: string[];
}

/** Where the installer puts the runtime block, and why. */
export type InstallTarget =
  | { kind: 'edit'; path: string; format: ConfigFormat; reason: string }
  | { kind: 'drop-in'; path: string; format: ConfigFormat; reason: string }
  | { kind: 'create'; path: string; format: ConfigFormat; reason: string };

const globChars = /[*?[]/;

function globToRegExp(pattern: string): RegExp {
  let source = '';
  for (let i = 0; i < pattern.length; i++) {
    const c = pattern[i] as string;
    if (c === '*') source += '[^/]*';
    else if (c === '?') source += '[^/]';
    else if (c === '[') {
      const close = pattern.indexOf(']', i + 1);
      if (close === -1) source += '\\[';
      else {
        source += `[${pattern.slice(i + 1, close).replace(/^!/, '^').replace(/\\/g, '\\\\')}]`;
        i = close;
      }
    } else source += c.replace(/[.+^${}()|\\]/g, '\\$&');
  }
  return new RegExp(`^${source}$`);
}

/**
 * Go's `filepath.Match` (the subset containerd's configs use: `*`, `?`, `[…]`): how containerd
 * matches import globs and the `pod_annotations` / `container_annotations` patterns.
 */
export function matchesGlob(pattern: string, name: string): boolean {
  return globToRegExp(pattern).test(name);
}

/** Whether a file name matches the last component of an import glob (Go `filepath.Match` subset). */
export function matchesImportGlob(pattern: string, path: string): boolean {
  return dirname(pattern) === dirname(path) && globToRegExp(basename(pattern)).test(basename(path));
}

// containerd resolves imports relative to the importing file and expands globs with filepath.Glob,
// which returns matches sorted; only the last path component may hold a glob here.
async function resolveImports(parent: string, imports: string[], hostPath: (p: string) => string): Promise<string[]> {
  const out: string[] = [];
  for (const raw of imports) {
    const path = isAbsolute(raw) ? raw : join(dirname(parent), raw);
    if (!globChars.test(path)) {
      out.push(path);
      continue;
    }
    if (globChars.test(dirname(path))) {
      throw new ContainerdConfigInvalidError(`expected globs only in the last component of imports in ${parent}, found ${JSON.stringify(raw)}`);
    }
    const names = await readdir(hostPath(dirname(path))).catch(() => [] as string[]);
    const regex = globToRegExp(basename(path));
    out.push(...names.filter((n) => regex.test(n)).sort().map((n) => join(dirname(path), n)));
  }
  return out;
}

function stringArray(value: unknown, file: string): string[] {
  if (value === undefined) return [];
  if (!Array.isArray(value) || !value.every((v) => typeof v === 'string')) {
    throw new ContainerdConfigInvalidError(`expected imports in ${file} to be an array of strings, found ${JSON.stringify(value)}`);
  }
  return value;
}

/** Every file containerd would load for `mainPath`, in containerd's load order (main first, then imports breadth-first). */
export async function loadConfigChain(
  mainPath: string,
  defaultFormat: ConfigFormat,
  hostPath: (p: string) => string = (p) => p,
): Promise<LoadedConfig[]> {
  const seen = new Set<string>();
  const pending = [mainPath];
  const out: LoadedConfig[] = [];
  let mainFormat = defaultFormat;
  while (pending.length > 0) {
    const path = pending.shift() as string;
    if (seen.has(path)) continue;
    seen.add(path);
    let text: string | undefined;
    try {
      text = await readFile(hostPath(path), 'utf8');
    } catch (error) {
      if ((error as NodeJS.ErrnoException).code !== 'ENOENT') throw error;
      if (path !== mainPath) throw new ContainerdConfigInvalidError(`expected imported config ${path} to exist, found nothing`, { cause: error });
    }
    const own = text === undefined ? '' : removeRuntime(text).text;
    const doc = parseConfig(own, path);
    const format = configFormat(doc, path === mainPath ? (text === undefined ? defaultFormat : 1) : mainFormat, path);
    if (path === mainPath) mainFormat = format;
    const plugins = doc['plugins'];
    const definesCri = typeof plugins === 'object' && plugins !== null && allCriPluginKeys.some((k) => k in plugins);
    const imports = stringArray(doc['imports'], path);
    out.push({ path, text, format, definesCri, hasFloxBlock: text !== undefined && findRuntimeBlock(text) !== undefined, imports });
    pending.push(...(await resolveImports(path, imports, hostPath)));
  }
  return out;
}

/**
 * Pick the file that gets the runtime block. containerd merges imports over the main config one
 * plugin section at a time (a later file's `[plugins."…cri"]` replaces the earlier one wholesale), so
 * the block must live in the LAST file that defines the CRI section; a drop-in is only safe when no
 * file defines it.
 */
export function chooseInstallTarget(chain: LoadedConfig[], dropInName: string): InstallTarget {
  const main = chain[0];
  if (!main) throw new ContainerdConfigInvalidError('expected at least the main config in the load chain, found none');
  if (main.text === undefined) {
    return { kind: 'create', path: main.path, format: main.format, reason: 'no config file: write containerd defaults plus the runtime' };
  }
  const definers = chain.filter((f) => f.definesCri);
  const last = definers.at(-1);
  if (last) {
    return { kind: 'edit', path: last.path, format: last.format, reason: `${last.path} is the last file in load order that defines the CRI plugin section` };
  }
  const existingDropIn = chain.find((f) => f !== main && f.hasFloxBlock);
  if (existingDropIn) return { kind: 'drop-in', path: existingDropIn.path, format: existingDropIn.format, reason: 'refresh the existing drop-in' };
  for (const file of chain) {
    for (const raw of file.imports) {
      const pattern = isAbsolute(raw) ? raw : join(dirname(file.path), raw);
      const candidate = join(dirname(pattern), dropInName);
      if (globChars.test(basename(pattern)) && !globChars.test(dirname(pattern)) && matchesImportGlob(pattern, candidate)) {
        return { kind: 'drop-in', path: candidate, format: main.format, reason: `no file defines the CRI section and ${raw} imports ${dropInName}` };
      }
    }
  }
  return { kind: 'edit', path: main.path, format: main.format, reason: 'no file defines the CRI section and no import glob takes a drop-in' };
}
