import { parse, TomlError } from 'smol-toml';
import { ContainerdConfigInvalidError, ContainerdRuntimeConflictError } from './errors.ts';

/** containerd config file format: `version = 1 | 2 | 3` at the top of the file. */
export type ConfigFormat = 1 | 2 | 3;

/** How the `flox` runtime entry is written. */
export interface FloxRuntimeSpec {
  /** Runtime handler name (RuntimeClass `handler`), normally `flox`. */
  name: string;
  /** Annotation globs passed through to the OCI spec, normally `["flox.dev/*"]`. */
  annotations: string[];
  /**
   * Absolute path of `containerd-shim-flox-v2`. When set, the entry uses
   * `runtime_type = "io.containerd.runc.v2"` + `runtime_path` (containerd >= 1.6.21 / 1.7.1);
   * when absent, `runtime_type = "io.containerd.flox.v2"` and the shim must be on containerd's PATH.
   */
  runtimePath?: string;
  /** Mirror of the runc runtime's `SystemdCgroup` (only written with `runtimePath`). */
  systemdCgroup?: boolean;
}

export const blockBegin = '# >>> flox-k8s runtime: added by flox-node-agent, removed by its uninstall >>>';
export const blockEnd = '# <<< flox-k8s runtime <<<';

const criPluginKeys = { 1: 'cri', 2: 'io.containerd.grpc.v1.cri', 3: 'io.containerd.cri.v1.runtime' } as const;

/** Every top-level plugin key under which some containerd generation keeps the CRI runtime config. */
export const allCriPluginKeys: readonly string[] = Object.values(criPluginKeys);

/** The `[plugins]` key of the CRI plugin's runtime settings in a config format. */
export function criPluginKey(format: ConfigFormat): string {
  return criPluginKeys[format];
}

/** Key path of the CRI `runtimes` table for a config format. */
export function runtimesPath(format: ConfigFormat): string[] {
  return ['plugins', criPluginKeys[format], 'containerd', 'runtimes'];
}

/** Parse TOML, turning syntax errors into a coded error that names the file and line. */
export function parseConfig(text: string, file: string): Record<string, unknown> {
  try {
    return parse(text) as Record<string, unknown>;
  } catch (error) {
    const where = error instanceof TomlError ? ` at line ${error.line}, column ${error.column}` : '';
    throw new ContainerdConfigInvalidError(
      `expected ${file} to be valid TOML, found a syntax error${where}: ${(error as Error).message.split('\n')[0]}; fix the file before installing`,
      { cause: error },
    );
  }
}

/** The `version` a parsed config declares; containerd treats a missing one as 1 (1.x) — 2.x requires it. */
export function configFormat(doc: Record<string, unknown>, fallback: ConfigFormat, file: string): ConfigFormat {
  const version = doc['version'];
  if (version === undefined) return fallback;
  if (version === 1 || version === 2 || version === 3) return version;
  throw new ContainerdConfigInvalidError(`expected ${file} to declare version = 1, 2 or 3, found version = ${JSON.stringify(version)}`);
}

export function getPath(doc: unknown, path: readonly string[]): unknown {
  let node: unknown = doc;
  for (const key of path) {
    if (typeof node !== 'object' || node === null || Array.isArray(node)) return undefined;
    node = (node as Record<string, unknown>)[key];
  }
  return node;
}

function tomlKey(key: string): string {
  return /^[A-Za-z0-9_-]+$/.test(key) ? key : JSON.stringify(key);
}

function tomlStringArray(values: readonly string[]): string {
  return `[${values.map((v) => JSON.stringify(v)).join(', ')}]`;
}

/** The marked block that declares the runtime (the text the installer appends). */
export function renderRuntimeBlock(format: ConfigFormat, runtime: FloxRuntimeSpec, addedNewline = false): string {
  const table = [...runtimesPath(format), runtime.name].map(tomlKey).join('.');
  const lines = [addedNewline ? blockBegin + addedNewlineMark : blockBegin, `[${table}]`];
  if (runtime.runtimePath === undefined) {
    lines.push(`  runtime_type = "io.containerd.flox.v2"`);
  } else {
    lines.push(`  runtime_type = "io.containerd.runc.v2"`, `  runtime_path = ${JSON.stringify(runtime.runtimePath)}`);
  }
  lines.push(
    `  pod_annotations = ${tomlStringArray(runtime.annotations)}`,
    `  container_annotations = ${tomlStringArray(runtime.annotations)}`,
  );
  if (runtime.runtimePath !== undefined && runtime.systemdCgroup !== undefined) {
    lines.push(`[${table}.options]`, `  SystemdCgroup = ${runtime.systemdCgroup}`);
  }
  lines.push(blockEnd, '');
  return lines.join('\n');
}

/** Where the marked block sits in `text` (including the newline the installer put before it), if present. */
export function findRuntimeBlock(text: string): { start: number; end: number; addedNewline: boolean } | undefined {
  const begin = text.indexOf(blockBegin);
  if (begin === -1) return undefined;
  const endMarker = text.indexOf(blockEnd, begin);
  if (endMarker === -1) {
    throw new ContainerdConfigInvalidError(
      `found "${blockBegin}" without its end marker "${blockEnd}"; restore the config from the agent's backup or remove the partial block by hand`,
    );
  }
  let end = endMarker + blockEnd.length;
  if (text[end] === '\n') end += 1;
  const addedNewline = text.startsWith(addedNewlineMark, begin + blockBegin.length);
  return { start: addedNewline ? begin - 1 : begin, end, addedNewline };
}

// A file whose last line lacked "\n" gets one before the block; the mark records it so that
// removal gives back the exact original bytes.
const addedNewlineMark = ' (newline added)';

/** `SystemdCgroup` of the stock `runc` runtime, so the flox runtime uses the same cgroup driver as kubelet. */
export function runcSystemdCgroup(doc: Record<string, unknown>, format: ConfigFormat): boolean | undefined {
  const value = getPath(doc, [...runtimesPath(format), 'runc', 'options', 'SystemdCgroup']);
  return typeof value === 'boolean' ? value : undefined;
}

/**
 * Add (or refresh) the flox runtime in a config file's text. Untouched parts stay byte-identical:
 * the block is appended at the end, and an existing marked block is replaced in place.
 */
export function addRuntime(
  text: string,
  file: string,
  fallbackFormat: ConfigFormat,
  runtime: FloxRuntimeSpec,
): { text: string; changed: boolean; format: ConfigFormat } {
  const existing = findRuntimeBlock(text);
  const base = existing ? text.slice(0, existing.start) + text.slice(existing.end) : text;
  const doc = parseConfig(base, file);
  const format = configFormat(doc, fallbackFormat, file);
  if (getPath(doc, [...runtimesPath(format), runtime.name]) !== undefined) {
    throw new ContainerdRuntimeConflictError(
      `expected no runtime "${runtime.name}" in ${file} outside the agent's marked block, found one; remove it or set installer.runtimeName to another handler`,
    );
  }
  let next: string;
  if (existing) {
    const block = renderRuntimeBlock(format, runtime, existing.addedNewline);
    next = text.slice(0, existing.start) + (existing.addedNewline ? '\n' : '') + block + text.slice(existing.end);
  } else {
    const addedNewline = base.length > 0 && !base.endsWith('\n');
    next = base + (addedNewline ? '\n' : '') + renderRuntimeBlock(format, runtime, addedNewline);
  }
  verifyRuntime(next, file, format, runtime);
  return { text: next, changed: next !== text, format };
}

/** Remove the marked block; the inverse of `addRuntime` on an otherwise unchanged file. */
export function removeRuntime(text: string): { text: string; changed: boolean } {
  const block = findRuntimeBlock(text);
  if (!block) return { text, changed: false };
  return { text: text.slice(0, block.start) + text.slice(block.end), changed: true };
}

function verifyRuntime(text: string, file: string, format: ConfigFormat, runtime: FloxRuntimeSpec): void {
  const doc = parseConfig(text, `${file} (after adding the flox runtime)`);
  const entry = getPath(doc, [...runtimesPath(format), runtime.name]) as Record<string, unknown> | undefined;
  const annotations = JSON.stringify(runtime.annotations);
  if (
    entry === undefined ||
    JSON.stringify(entry['pod_annotations']) !== annotations ||
    JSON.stringify(entry['container_annotations']) !== annotations
  ) {
    throw new ContainerdConfigInvalidError(
      `expected the flox runtime to be readable from ${file} after the edit, found ${JSON.stringify(entry)}; the file's table layout (dotted keys or inline tables) prevents appending a table — add the runtime by hand`,
    );
  }
}
