// A flox-enabled "node" for the shim suites: the shim installed into a temp prefix,
// a real-Nix fixture cache served on loopback, a local hub with the fixture
// environment published, and a private containerd with the `flox` runtime.
import { mkdir, mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { IncomingMessage, ServerResponse } from 'node:http';
import { nixFixtures, serveCache, type NixFixtures, type ServedCache } from '@flox-k8s/nix-fixtures';
import type { ShimConfigInput } from '@flox-k8s/config';
import { publishEnvironment } from '@flox-k8s/environments';
import { shimPrograms } from '@flox-k8s/shim';
import { installLayout, type InstallLayout } from '@flox-k8s/shim-layout';
import { criClient, startContainerd, type ContainerdHandle, type ContainerdVersion, type CriClient, type RuntimeEntry } from '@flox-k8s/cri-harness';
import { readJsonLines } from '../json-lines.ts';

export const ENV_OWNER = 'acme';
export const ENV_NAME = 'fixture';
export const ENVIRONMENT = `${ENV_OWNER}/${ENV_NAME}`;
export const FLOX_ANNOTATIONS = ['flox.dev/*'];

/** A second flox runtime on the same containerd, with its own config, store and cache server. */
export interface FloxVariant {
  /** Runtime handler and shim name: `io.containerd.<name>.v2` → `containerd-shim-<name>-v2`. */
  name: string;
  onCacheRequest?: (req: IncomingMessage, res: ServerResponse) => boolean | void;
  config?: Partial<ShimConfigInput>;
}

export interface VariantHandle {
  name: string;
  cache: ServedCache;
  storeRoot: string;
  configPath: string;
}

export interface FloxNode {
  dir: string;
  variants: Record<string, VariantHandle>;
  fixtures: NixFixtures;
  cache: ServedCache;
  hubDir: string;
  storeRoot: string;
  configPath: string;
  logFile: string;
  layout: InstallLayout;
  containerd: ContainerdHandle;
  cri: CriClient;
  /** The shim's JSON-line log so far. */
  shimLog(): Promise<Array<Record<string, unknown>>>;
  stop(): Promise<void>;
}

export interface FloxNodeOptions {
  version: ContainerdVersion;
  /** Serve the cache through this hook (corrupt NARs, count requests). */
  onCacheRequest?: (req: IncomingMessage, res: ServerResponse) => boolean | void;
  /** Config overrides. */
  config?: Partial<ShimConfigInput>;
  /** Runtime entries besides `flox` (default: `flox` = io.containerd.flox.v2 with flox.dev/* annotations). */
  runtimes?: RuntimeEntry[];
  variants?: FloxVariant[];
}

/** Builds the fixture node; `stop()` removes everything it made. */
export async function startFloxNode(options: FloxNodeOptions): Promise<FloxNode> {
  const fixtures = await nixFixtures();
  const dir = await mkdtemp(join(tmpdir(), `flox-shim-e2e-${options.version.replace('.', '')}-`));
  const cleanups: Array<() => Promise<unknown>> = [() => rm(dir, { recursive: true, force: true })];
  const stop = async (): Promise<void> => {
    for (const c of cleanups.reverse()) await c().catch(() => undefined);
  };
  try {
    const cache = await serveCache(fixtures.caches.xz, options.onCacheRequest === undefined ? {} : { onRequest: options.onCacheRequest });
    cleanups.push(() => cache.close());
    const hubDir = join(dir, 'hub');
    await publishEnvironment(hubDir, ENV_OWNER, ENV_NAME, fixtures.lockfile.bytes);
    const storeRoot = join(dir, 'store');
    const logFile = join(dir, 'shim.log');
    const configPath = join(dir, 'config.json');
    const config: ShimConfigInput = {
      storeRoot,
      caches: [{ url: cache.url }],
      trustedKeys: [fixtures.publicKey],
      sources: [{ type: 'dir', path: hubDir }],
      agentSocket: join(dir, 'agent.sock'),
      logFile,
      // Private, and served only by a suite that starts a patch service there.
      patchServiceDir: join(dir, 'patcher'),
      ...options.config,
    };
    await writeFile(configPath, JSON.stringify(config, null, 2));
    const layout = await installLayout({
      programs: shimPrograms,
      prefix: join(dir, 'install'),
      fromSource: true,
      config: configPath,
      compileCache: join(dir, 'compile-cache'),
      patchServiceDir: config.patchServiceDir as string,
    });
    await mkdir(join(dir, 'compile-cache'), { recursive: true });
    const variants: Record<string, VariantHandle> = {};
    for (const variant of options.variants ?? []) {
      const vcache = await serveCache(fixtures.caches.xz, variant.onCacheRequest === undefined ? {} : { onRequest: variant.onCacheRequest });
      cleanups.push(() => vcache.close());
      const vdir = join(dir, 'variants', variant.name);
      await mkdir(vdir, { recursive: true });
      const vconfig: ShimConfigInput = { ...config, storeRoot: join(vdir, 'store'), caches: [{ url: vcache.url }], ...variant.config };
      const vconfigPath = join(vdir, 'config.json');
      await writeFile(vconfigPath, JSON.stringify(vconfig, null, 2));
      // Same launcher, another config: containerd finds it as containerd-shim-<name>-v2.
      await writeFile(
        join(layout.prefix, 'bin', `containerd-shim-${variant.name}-v2`),
        `#!/bin/sh
FLOXK8S_CONFIG='${vconfigPath}'
export FLOXK8S_CONFIG
exec '${layout.launcher}' "$@"
`,
        { mode: 0o755 },
      );
      variants[variant.name] = { name: variant.name, cache: vcache, storeRoot: vconfig.storeRoot as string, configPath: vconfigPath };
    }
    // The documented ≥ 1.6.21 / 1.7.1 form: the runc type with our launcher as runtime_path.
    const pathForm: RuntimeEntry = {
      name: 'floxpath',
      runtimeType: 'io.containerd.runc.v2',
      runtimePath: layout.launcher,
      podAnnotations: FLOX_ANNOTATIONS,
      containerAnnotations: FLOX_ANNOTATIONS,
    };
    const containerd = await startContainerd({
      version: options.version,
      runtimes: [...(options.runtimes ?? [floxRuntime(), pathForm]), ...(options.variants ?? []).map((v) => floxRuntime(v.name))],
      extraPath: [join(layout.prefix, 'bin')],
    });
    cleanups.push(() => containerd.stop());
    const cri = criClient(containerd.socket, { deadlineMs: 120_000 });
    cleanups.push(async () => cri.close());
    return {
      dir,
      variants,
      fixtures,
      cache,
      hubDir,
      storeRoot,
      configPath,
      logFile,
      layout,
      containerd,
      cri,
      shimLog: () => readJsonLines(logFile),
      stop,
    };
  } catch (error) {
    await stop();
    throw error;
  }
}

/** The documented 1.6/1.7/2.x form: `runtime_type = "io.containerd.flox.v2"`, no options table. */
export function floxRuntime(name = 'flox'): RuntimeEntry {
  return { name, runtimeType: `io.containerd.${name}.v2`, podAnnotations: FLOX_ANNOTATIONS, containerAnnotations: FLOX_ANNOTATIONS };
}
