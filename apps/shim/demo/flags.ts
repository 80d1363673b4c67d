import { parseArgs } from 'node:util';
import { z } from 'zod';
import { UsageError } from '../src/errors.ts';
import { formatIssues } from '@flox-k8s/core';

export const DEMO_USAGE = `usage: pnpm demo [--large | --lockfile FILE] [--cache URL]... [--trusted-key NAME:KEY]...
                 [--hub URL|DIR] [--environment OWNER/NAME[:N]] [--] [COMMAND ARGS...]

Starts a private containerd with the flox runtime, publishes an environment into a hub,
runs a CRI pod (runtimeClass flox) that executes COMMAND from that environment, prints
the container's stdout and exits with its status. Needs root, containerd and runc.

  --large                  the large real-Nix fixture environment instead (138 store
                           paths, 344 MB: node, perl, bash, curl, … with every library),
                           built on first use (~5 min, cached), served offline as xz
  --lockfile FILE          publish this manifest.lock (default: the real-Nix fixture
                           environment, served offline); needs COMMAND; caches and keys
                           then default to cache.nixos.org
  --cache URL              binary cache to realise from (repeatable; replaces the defaults)
  --trusted-key NAME:KEY   narinfo signing key to trust (repeatable; replaces the defaults)
  --hub DIR                publish into this directory hub (default: a temp dir)
  --hub URL                resolve from this HTTP(S) hub instead of publishing; needs
                           --environment and COMMAND
  --environment REF        owner/name[:N] or owner/name@sha256:<hex> (default: demo/example:1)
  COMMAND ARGS...          what the container runs (default: hello-flox)

Example, where cache.nixos.org is reachable:
  pnpm demo -- --lockfile .flox/env/manifest.lock --cache https://cache.nixos.org \\
    --trusted-key cache.nixos.org-1:6NCHdD59X431o0gWypbMrAURkbJ16ZPMQFGspcDShjY= -- hello`;

/** What `--large` runs by default: programs from all over the closure. */
export const LARGE_DEMO_COMMAND: readonly string[] = [
  'bash',
  '-c',
  [
    `node -p '"node " + process.version'`,
    `perl -le 'print "perl ", $^V'`,
    'curl --version | head -n 1',
    'echo "store paths mounted: $(ls /nix/store | wc -l)"',
  ].join('; '),
];

const VALUE_FLAGS = new Set(['--lockfile', '--cache', '--trusted-key', '--hub', '--environment']);

const url = z.string().refine((u) => URL.canParse(u) && /^https?:$/.test(new URL(u).protocol), 'expected an http(s):// URL');
const flagsSchema = z.strictObject({
  lockfile: z.string().min(1).optional(),
  cache: z.array(url).default([]),
  'trusted-key': z.array(z.string().regex(/^[A-Za-z0-9._-]+:[A-Za-z0-9+/]{43}=$/, 'expected NAME:BASE64 (an ed25519 public key)')).default([]),
  hub: z.string().min(1).optional(),
  environment: z.string().regex(/^[A-Za-z0-9][A-Za-z0-9._-]*\/[A-Za-z0-9][A-Za-z0-9._-]*(:[1-9][0-9]*|@sha256:[0-9a-f]{64})?$/, 'expected owner/name[:N] or owner/name@sha256:<hex>').optional(),
  help: z.boolean().optional(),
  large: z.boolean().optional(),
});

export interface DemoFlags {
  lockfile: string | undefined;
  caches: string[];
  trustedKeys: string[];
  /** An http(s) hub URL, or a directory to publish into. */
  hub: { kind: 'url'; url: string } | { kind: 'dir'; path: string } | undefined;
  environment: string | undefined;
  command: string[];
  help: boolean;
  /** The large fixture environment instead of the small one. */
  large: boolean;
}

/** Parses and validates the demo's flags; throws UsageError naming the bad flag. */
export function parseDemoFlags(argv: readonly string[]): DemoFlags {
  // `pnpm demo -- …` passes the "--" through: skip leading ones. The command starts
  // after a later "--" or at the first argument that is not one of our flags.
  let i = 0;
  while (argv[i] === '--') i++;
  const own: string[] = [];
  for (; i < argv.length; i++) {
    const arg = argv[i] as string;
    if (arg === '--') {
      i++;
      break;
    }
    if (!arg.startsWith('-')) break;
    own.push(arg);
    if (VALUE_FLAGS.has(arg) && i + 1 < argv.length) own.push(argv[++i] as string);
  }
  const command = argv.slice(i);
  let values: Record<string, unknown>;
  try {
    values = parseArgs({
      args: own,
      options: {
        lockfile: { type: 'string' },
        cache: { type: 'string', multiple: true },
        'trusted-key': { type: 'string', multiple: true },
        hub: { type: 'string' },
        environment: { type: 'string' },
        help: { type: 'boolean', short: 'h' },
        large: { type: 'boolean' },
      },
      strict: true,
      allowPositionals: false,
    }).values;
  } catch (error) {
    throw new UsageError(`${(error as Error).message}\n${DEMO_USAGE}`);
  }
  const parsed = flagsSchema.safeParse(values);
  if (!parsed.success) throw new UsageError(`${formatIssues(parsed.error)}\n${DEMO_USAGE}`);
  const f = parsed.data;
  let hub: DemoFlags['hub'];
  if (f.hub !== undefined) {
    if (/^https?:\/\//.test(f.hub)) {
      if (!URL.canParse(f.hub)) throw new UsageError(`--hub: "${f.hub}" is not a valid URL`);
      hub = { kind: 'url', url: f.hub };
    } else if (f.hub.includes('://')) {
      throw new UsageError(`--hub: expected an http(s):// URL or a directory, found "${f.hub}"`);
    } else hub = { kind: 'dir', path: f.hub };
  }
  if (hub?.kind === 'url' && f.environment === undefined) {
    throw new UsageError('--hub URL: also name the environment to run with --environment OWNER/NAME[:N]');
  }
  if (f.large === true && (f.lockfile !== undefined || hub?.kind === 'url')) {
    throw new UsageError('--large publishes the large fixture environment: it cannot be combined with --lockfile or --hub URL');
  }
  if (hub?.kind === 'url' && f.lockfile !== undefined) {
    throw new UsageError('--lockfile cannot be published to an HTTP hub; use --hub DIR (or omit --hub)');
  }
  return {
    lockfile: f.lockfile,
    caches: f.cache,
    trustedKeys: f['trusted-key'],
    hub,
    environment: f.environment,
    command,
    help: f.help === true,
    large: f.large === true,
  };
}
