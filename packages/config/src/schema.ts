import { z } from 'zod';

/** Public key of cache.nixos.org, trusted unless the config names other keys. */
export const NIXOS_CACHE_KEY = 'cache.nixos.org-1:6NCHdD59X431o0gWypbMrAURkbJ16ZPMQFGspcDShjY=';

const absolutePath = z
  .string()
  .min(1)
  .refine((p) => p.startsWith('/') && !p.split('/').includes('..'), 'expected an absolute path without ".."');

const httpUrl = z
  .string()
  .refine((u) => URL.canParse(u) && /^https?:$/.test(new URL(u).protocol), 'expected an http(s):// URL');

const cacheSchema = z.strictObject({
  url: httpUrl,
  priority: z.number().int().min(0).optional(),
  /** File holding the credential: a bearer token, or `user:password` when `credentialsType` is basic. */
  credentialsFile: absolutePath.optional(),
  credentialsType: z.enum(['bearer', 'basic']).default('bearer'),
});

const trustedKey = z.string().regex(/^[A-Za-z0-9._-]+:[A-Za-z0-9+/]{43}=$/, 'expected name:base64 ed25519 public key');

const hubSource = z.strictObject({
  type: z.literal('hub'),
  /** Base URL; environments live at `<url>/<owner>/<name>/...`. */
  url: z.string().refine((u) => URL.canParse(u) && /^https?:$/.test(new URL(u).protocol), 'expected an http(s):// URL'),
  /** File holding a bearer token (e.g. a mounted Secret). */
  tokenFile: absolutePath.optional(),
  /** Idle timeout: no byte for this long ends a read. */
  timeoutMs: z.number().int().positive().default(10_000),
  /** Overall deadline of one read (a pointer or a lockfile): a body trickling in under the idle timeout still ends. */
  deadlineMs: z.number().int().positive().default(60_000),
});

const dirSource = z.strictObject({
  type: z.literal('dir'),
  /** Directory with the hub layout: `<path>/<owner>/<name>/...`. */
  path: absolutePath,
});

const floxmetaSource = z.strictObject({
  type: z.literal('floxmeta'),
  /**
   * FloxHub's git URL (hosted FloxHub: `https://api.flox.dev/git`); an owner's environments
   * are the branches of `<url>/<owner>/floxmeta`. Credentials never go in the URL.
   */
  url: httpUrl.refine((u) => !URL.canParse(u) || (new URL(u).username === '' && new URL(u).password === ''), 'put the token in tokenFile, not in the URL'),
  /** One-line FloxHub token file (a mounted Secret, e.g. `/var/run/secrets/flox.dev/floxhub-token`). */
  tokenFile: absolutePath.optional(),
  /** Node-local cache of what was read; default `<storeRoot>/floxmeta`. */
  cacheDir: absolutePath.optional(),
  /** Reuse a branch tip read this recently for live references; 0 reads the branch on every resolve. */
  liveTtlMs: z.number().int().min(0).max(300_000).default(0),
  /** Deadline of one read from the remote (discovery, fetch, reading the objects). */
  timeoutMs: z.number().int().positive().default(30_000),
  /** Largest response accepted from the remote (a fetch carries the tip's whole tree). */
  maxFetchBytes: z.number().int().positive().default(64 * 1024 * 1024),
});

/** One environment source: an HTTP(S) hub, a directory with the same layout, or FloxHub's floxmeta git repositories. */
export const environmentSourceSchema = z.discriminatedUnion('type', [hubSource, dirSource, floxmetaSource]);

/** Default location of the config file (the shim's `FLOXK8S_CONFIG` overrides it). */
export const DEFAULT_CONFIG_PATH = '/etc/flox-k8s/config.json';

/** Default rendezvous directory of the node agent's patch service (request FIFO, reply FIFOs). */
export const DEFAULT_PATCH_SERVICE_DIR = '/run/flox-k8s/patcher';

/** Schema of `/etc/flox-k8s/config.json`. Every field has a default. */
export const shimConfigSchema = z.strictObject({
  storeRoot: absolutePath.default('/var/lib/flox-k8s'),
  system: z
    .string()
    .regex(/^[a-z0-9_]+-[a-z0-9_]+$/, 'expected a Nix system such as x86_64-linux')
    .optional(),
  caches: z.array(cacheSchema).default([{ url: 'https://cache.nixos.org', priority: 40, credentialsType: 'bearer' }]),
  trustedKeys: z.array(trustedKey).default([NIXOS_CACHE_KEY]),
  sources: z.array(environmentSourceSchema).default([]),
  agentSocket: absolutePath.default('/run/flox-k8s/agent.sock'),
  /**
   * Root-only directory where the node agent's patch service takes `create`/`exec`
   * hand-offs from the runc front (baked into the front by install-layout).
   */
  patchServiceDir: absolutePath.default(DEFAULT_PATCH_SERVICE_DIR),
  /** How long to wait for the agent to accept a connection before realising in-process. */
  agentConnectTimeoutMs: z.number().int().positive().default(200),
  logFile: absolutePath.default('/var/log/flox-k8s/shim.log'),
  /** The real runc; when absent, the first `runc` on PATH that is not the interposer. */
  runc: absolutePath.optional(),
  /** Upper bound for one container's resolve + realise + patch. */
  createTimeoutMs: z.number().int().positive().default(600_000),
  /**
   * Mounted store views (the node agent's patch service): a closure of at least `minPaths`
   * bind-mounted paths gets its store view mounted on the host once, after its first create;
   * later creates bind that tree with one recursive mount instead of one mount per path.
   * `maxMounts` bounds the host mounts all such views hold together (0: off); the views unused
   * the longest are unmounted first.
   */
  storeViewMounts: z
    .strictObject({
      minPaths: z.number().int().min(1).max(1_000_000).default(64),
      maxMounts: z.number().int().min(0).max(100_000).default(8192),
    })
    .default({ minPaths: 64, maxMounts: 8192 }),
  /**
   * How the store makes fetched paths durable (`@flox-k8s/store`'s `fsync`). `auto`: an fsync of
   * every file and directory of a path before it is registered, none on tmpfs/ramfs. `fsync`: that,
   * on any file system. `syncfs`: one syncfs(2) of the store's file system for all of a realise's
   * unpacked paths (coreutils' `sync -f`), much cheaper on a disk, but it flushes every dirty page
   * of that file system: for a store on a file system of its own.
   */
  storeSync: z.enum(['auto', 'fsync', 'syncfs']).default('auto'),
});

/** `storeSync` as `@flox-k8s/store`'s `Store.open` option `fsync` (undefined: the store's own default). */
export function storeFsyncOption(config: Pick<ShimConfig, 'storeSync'>): true | 'syncfs' | undefined {
  return config.storeSync === 'fsync' ? true : config.storeSync === 'syncfs' ? 'syncfs' : undefined;
}

export type ShimConfigInput = z.input<typeof shimConfigSchema>;
export type CacheEntry = z.output<typeof cacheSchema>;
export type HubSource = z.output<typeof hubSource>;
export type DirSource = z.output<typeof dirSource>;
/** A floxmeta source after parseConfig: `cacheDir` filled in (`<storeRoot>/floxmeta` by default). */
export type FloxmetaSource = z.output<typeof floxmetaSource> & { cacheDir: string };
export type EnvironmentSource = HubSource | DirSource | FloxmetaSource;

/** The validated config, with the node's system and every floxmeta source's cache filled in. */
export type ShimConfig = Omit<z.output<typeof shimConfigSchema>, 'system' | 'sources'> & { system: string; sources: EnvironmentSource[] };
