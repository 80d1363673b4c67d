// Entry point of the interposer's Node startup snapshot (built by install-layout with
// `node --build-snapshot` for the exact node binary that runs it). Building it
// evaluates everything a warm `create` or an `exec` needs (zod and its schemas,
// oci-patch, the config loader), so a container start skips loading and evaluating
// that code. A create the plan cache cannot serve hands over to the ESM bundle, which
// loads the store and binary-cache client: a cold start is seconds anyway.
// zod-jitless first: it configures zod before any module below builds a schema.
import './zod-jitless.ts';
import { startupSnapshot } from 'node:v8';
import { readEnv } from '../env.ts';
import { FloxK8sError } from '@flox-k8s/core';
import * as create from '@flox-k8s/interposer/create';
import type { InterposeState } from '@flox-k8s/interposer/interpose';
import * as exec from '@flox-k8s/interposer/exec';
import { rehearseWarmPath } from './rehearsal.ts';
import { runInterposer, type InterposerModules } from './run.ts';

/** The snapshot was started without the ESM bundle to hand a cold start to. */
class SnapshotHandOverError extends FloxK8sError {
  static override readonly code = 'FLOXK8S_INTERPOSER_ENTRY_MISSING' as const;

  constructor(message: string) {
    super(SnapshotHandOverError.code, message);
  }
}

const modules: InterposerModules = { create: () => Promise.resolve(create), exec: () => Promise.resolve(exec) };

rehearseWarmPath();

startupSnapshot.setDeserializeMainFunction(() => {
  // The front runs `node --snapshot-blob BLOB -- <runc argv>`; Node drops the `--`.
  const argv = process.argv.slice(1);
  const state: Omit<InterposeState, 'context'> = { loadedAt: performance.now(), entry: 'snapshot', beforeColdStart: () => handOver(argv) };
  void runInterposer(argv, modules, state);
});

/** Replaces this process with the ESM interposer on the same argv (nothing has been written yet). */
function handOver(argv: readonly string[]): never {
  const entry = readEnv().interposerEntry;
  if (entry === undefined || typeof process.execve !== 'function') {
    throw new SnapshotHandOverError('the interposer snapshot needs FLOXK8S_INTERPOSER_ENTRY for a cold start; reinstall with install-layout');
  }
  const env: Record<string, string> = {};
  for (const [k, v] of Object.entries(process.env)) if (v !== undefined) env[k] = v;
  return process.execve(process.execPath, [process.execPath, '--no-warnings', entry, ...argv], env);
}
