import type { LoadedConfig } from './config-imports.ts';
import { type ConfigFormat, criPluginKey, findRuntimeBlock, getPath, parseConfig } from './runtime-block.ts';

/** A runtime as containerd will read it from a load chain. */
export interface RuntimeView {
  /**
   * The file whose CRI section containerd uses: the last one in load order that defines it
   * (a later file's section replaces an earlier one's wholesale). Undefined when no file
   * defines it: containerd then runs the CRI plugin on its defaults, with runc alone.
   */
  criFile: string | undefined;
  /** The config format of `criFile` (of the main file when there is none). */
  format: ConfigFormat;
  /** The named runtime's table, if containerd will have it. */
  runtime: Record<string, unknown> | undefined;
  /** The stock `runc` runtime's table, if any (its `options.SystemdCgroup` is kubelet's cgroup driver). */
  runc: Record<string, unknown> | undefined;
  /** Whether `criFile` holds the node agent's marked block (an installed runtime, not a hand-written one). */
  marked: boolean;
  /** Files in load order that hold the runtime but are overridden by `criFile` (it vanished from the merged config). */
  shadowed: string[];
}

function table(value: unknown): Record<string, unknown> | undefined {
  return typeof value === 'object' && value !== null && !Array.isArray(value) ? (value as Record<string, unknown>) : undefined;
}

/**
 * The runtime `name` as containerd sees it after merging `chain` (from `loadConfigChain`,
 * main file first): read from the last file that defines the CRI plugin section, the
 * marked block included.
 */
export function runtimeView(chain: readonly LoadedConfig[], name: string): RuntimeView {
  let winner: { file: LoadedConfig; cri: Record<string, unknown> } | undefined;
  const holders: string[] = [];
  for (const file of chain) {
    if (file.text === undefined) continue;
    const doc = parseConfig(file.text, file.path);
    const cri = table(getPath(doc, ['plugins', criPluginKey(file.format)]));
    if (cri === undefined) continue;
    winner = { file, cri };
    if (table(getPath(cri, ['containerd', 'runtimes', name])) !== undefined) holders.push(file.path);
  }
  const runtimes = (key: string): Record<string, unknown> | undefined => table(getPath(winner?.cri, ['containerd', 'runtimes', key]));
  return {
    criFile: winner?.file.path,
    format: winner?.file.format ?? chain[0]?.format ?? 2,
    runtime: runtimes(name),
    runc: runtimes('runc'),
    marked: winner?.file.text !== undefined && findRuntimeBlock(winner.file.text) !== undefined,
    shadowed: holders.filter((path) => path !== winner?.file.path),
  };
}
