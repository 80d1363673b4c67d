import { z } from 'zod';
import { defineCommand } from '../command.ts';
import { environmentInput } from '../environment-input.ts';
import { addEnvironmentOptions, countFlag, environmentFlags } from '../flags.ts';
import { cliCaches } from '../node-config.ts';
import { storeFsyncOption } from '@flox-k8s/config';
import { formatBytes } from '../format.ts';

/** What `realise --output json` prints. */
export interface RealiseJson {
  /** `owner/name:N` when resolved from a source; absent for --lockfile. */
  environment?: string;
  digest: string;
  system: string;
  store: string;
  /** Every store path of the closure (in-container names, /nix/store/…). */
  closure: string[];
  fetched: string[];
  present: string[];
  /** Bytes downloaded (compressed NARs). */
  bytesDownloaded: number;
  /** NAR bytes of what was fetched. */
  narBytes: number;
  durationMs: number;
}

export const realiseCommand = defineCommand({
  name: 'realise',
  summary: 'realise an environment\'s closure into a store directory, fetching what is missing from binary caches',
  arguments: [{ name: 'reference', description: 'owner/name[:N|@sha256:<hex>] (or use --lockfile)', required: false }],
  help: `
Progress goes to stderr: a bar of bytes and paths on a terminal, plain lines otherwise
(--progress to choose). The store is the node store's format (@flox-k8s/store): paths
appear only complete and verified, and one download per path is shared across processes.

Example:
  flox-k8s realise acme/hello:3 --store /var/lib/flox-k8s`,
  options(cmd) {
    cmd
      .option('--store <dir>', 'store root (default: the config\'s storeRoot, /var/lib/flox-k8s)')
      .option('--progress <mode>', 'auto (default), bar, lines or none')
      .option('--concurrency <n>', 'downloads in flight (default 16)');
    addEnvironmentOptions(cmd);
  },
  schema: (env) =>
    environmentFlags(env).extend({
      progress: z.enum(['auto', 'bar', 'lines', 'none']).default('auto'),
      concurrency: countFlag(1, 256).optional(),
    }),
  async run(flags, ctx) {
    const input = await environmentInput(flags, ctx);
    // Loaded here, not at start-up: the store pulls in the binary-cache client (undici).
    const [{ Store }, { storePathsToInstall }, { progressMode, RealiseProgressView }] = await Promise.all([
      import('@flox-k8s/store'),
      import('@flox-k8s/lockfile'),
      import('../progress.ts'),
    ]);
    const system = input.config.system;
    const roots = storePathsToInstall(input.lock, system);
    const caches = await cliCaches(input.config, ctx.redactor);
    const storeRoot = flags.store ?? input.config.storeRoot;
    // The node's store is made durable as the config says (storeSync); another one (--store) as the store decides.
    const store = await Store.open(storeRoot, { fsync: flags.store === undefined ? storeFsyncOption(input.config) : undefined });
    const view = new RealiseProgressView(progressMode(flags.progress, ctx.mode === 'json', ctx.stderrIsTTY), ctx.stderr, ctx.printer);
    const started = performance.now();
    let result;
    try {
      result = await store.realise(roots, {
        caches,
        trustedKeys: input.config.trustedKeys,
        onProgress: view.onProgress,
        signal: ctx.signal,
        ...(flags.concurrency === undefined ? {} : { concurrency: flags.concurrency }),
      });
    } finally {
      view.finish();
    }
    const json: RealiseJson = {
      ...(input.label === undefined || flags.reference === undefined ? {} : { environment: input.label }),
      digest: input.digest,
      system,
      store: storeRoot,
      closure: result.closure,
      fetched: result.fetched,
      present: result.present,
      bytesDownloaded: result.bytesDownloaded,
      narBytes: result.narBytes,
      durationMs: Math.round(performance.now() - started),
    };
    const what = json.environment ?? `lockfile sha256:${json.digest.slice(0, 12)}…`;
    const human = [
      `realised ${what} (${system}) into ${storeRoot}: ${json.closure.length} paths, ${json.fetched.length} fetched (${formatBytes(json.bytesDownloaded)} downloaded), ${json.present.length} already present, in ${(json.durationMs / 1000).toFixed(1)} s`,
      ...json.closure.map((p) => `  ${p}`),
    ];
    return { json, human: `${human.join('\n')}\n` };
  },
});
