import { readFileSync, renameSync, statSync, writeFileSync } from 'node:fs';
import { basename, dirname, join } from 'node:path';
import { BundleInvalidError } from './errors.ts';

/** File beside config.json holding the plan `runc exec` applies to exec'd processes. */
export const EXEC_PLAN_FILE = 'flox-k8s-exec-plan.json';

/**
 * File beside config.json recording that we patched it: environment, lockfile digest and the
 * sha256 of the config.json we wrote. The bundle directory is containerd's, out of the pod's
 * reach, so unlike the spec's annotations (the pod sets those) this marker cannot be forged.
 */
export const PATCHED_MARKER_FILE = 'flox-k8s-patched.json';

/** Reads and parses a JSON file of the bundle (config.json, a --process file). */
export function readJsonFile(path: string): unknown {
  let text: string;
  try {
    text = readFileSync(path, 'utf8');
  } catch (error) {
    throw new BundleInvalidError(`cannot read ${path}: ${(error as Error).message}`, { cause: error });
  }
  try {
    return JSON.parse(text);
  } catch (error) {
    throw new BundleInvalidError(`${path} is not valid JSON: ${(error as Error).message}`, { cause: error });
  }
}

/**
 * Replaces `path` atomically (write beside it, then rename), keeping its mode, so
 * runc never reads a half-written spec and a failure leaves the original intact.
 */
export function writeJsonFileAtomic(path: string, value: unknown): void {
  writeFileAtomic(path, JSON.stringify(value));
}

/** writeJsonFileAtomic for JSON already serialised (config.json: its text is hashed for the marker too). */
export function writeFileAtomic(path: string, text: string): void {
  // A new file (the exec plan and marker of each create) is the common case: no exception for it.
  let mode = 0o644;
  try {
    mode = (statSync(path, { throwIfNoEntry: false })?.mode ?? mode) & 0o7777;
  } catch {
    // not statable: written as new
  }
  const tmp = join(dirname(path), `.${basename(path)}.flox-k8s-${process.pid}`);
  try {
    writeFileSync(tmp, text, { mode });
    renameSync(tmp, path);
  } catch (error) {
    throw new BundleInvalidError(`cannot write ${path}: ${(error as Error).message}`, { cause: error });
  }
}

/**
 * The bundle directory of a running container, from runc's own state file:
 * runc records it as the `bundle=<dir>` label of `<root>/<id>/state.json`.
 */
export function bundleOfContainer(root: string, containerId: string): string | undefined {
  if (containerId.includes('/') || containerId === '.' || containerId === '..') return undefined;
  let state: unknown;
  try {
    state = JSON.parse(readFileSync(join(root, containerId, 'state.json'), 'utf8'));
  } catch {
    return undefined;
  }
  const labels = (state as { config?: { labels?: unknown } } | null)?.config?.labels;
  if (!Array.isArray(labels)) return undefined;
  for (const label of labels) {
    if (typeof label === 'string' && label.startsWith('bundle=')) return label.slice('bundle='.length);
  }
  return undefined;
}
