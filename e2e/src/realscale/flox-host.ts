// A flox node at the size users run: one private containerd, and per variant (environment ×
// compression × with or without the node agent) the shim installed as it ships (the bundled
// layout), its own config, store, loopback cache and runtime handler; with the agent, the
// bundled agent process serving that variant's realise socket and patch service.
import { existsSync } from 'node:fs';
import { chmod, mkdir, mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { ShimConfigInput } from '@flox-k8s/config';
import { publishEnvironment } from '@flox-k8s/environments';
import { serveCache, type ServedCache, type ServeCacheOptions } from '@flox-k8s/nix-fixtures';
import { startFakeApiserver, type FakeApiserver } from '@flox-k8s/fake-apiserver';
import { shimPrograms } from '@flox-k8s/shim';
import { buildBundle, installLayout, type InstallLayout, type ShimPrograms } from '@flox-k8s/shim-layout';
import { criClient, startContainerd, unmountAll, type ContainerdHandle, type ContainerdVersion, type CriClient } from '@flox-k8s/cri-harness';
import { startBundledAgent, type BundledAgent } from './bundled-agent.ts';
import { readJsonLines } from '../json-lines.ts';

export const FLOX_ANNOTATIONS = ['flox.dev/*'];

/** A published environment and the cache serving its closure. */
export interface EnvironmentSource {
  /** `owner/name`, published into the variant's hub. */
  environment: string;
  lockfile: Uint8Array;
  /** The `file://` cache directory to serve. */
  cacheDir: string;
  publicKey: string;
}

export interface VariantSpec {
  /** Runtime handler: `[a-z0-9]+` (containerd looks up `containerd-shim-<name>-v2`). */
  name: string;
  agent: boolean;
  /** With the agent: hand create/exec to its patch service (default), or only realise through its socket from a Node per create. */
  patchService?: boolean;
  source: EnvironmentSource;
  serve?: ServeCacheOptions;
  /** Shim config overrides (createTimeoutMs, …). */
  config?: Partial<ShimConfigInput>;
  /** The agent's `agent` settings (realiseGraceSeconds, …). */
  agentSettings?: Record<string, unknown>;
}

export interface Variant {
  spec: VariantSpec;
  dir: string;
  storeRoot: string;
  logFile: string;
  cache: ServedCache;
  layout: InstallLayout;
  agent: BundledAgent | undefined;
  /** The shim's JSON log lines so far. */
  shimLog(): Promise<Array<Record<string, unknown>>>;
}

export interface FloxHost {
  dir: string;
  containerd: ContainerdHandle;
  cri: CriClient;
  apiserver: FakeApiserver;
  variants: Record<string, Variant>;
  /** Where the installed bundle came from: `pnpm build`'s prebuilt one, or esbuild run here. */
  bundleOrigin: 'prebuilt' | 'bundled-now';
  stop(): Promise<void>;
}

/** The shim's programs with a complete prebuilt bundle: `pnpm build`'s when there is one, else one esbuild run here for every variant. */
async function shippedPrograms(dir: string): Promise<{ programs: ShimPrograms; origin: FloxHost['bundleOrigin'] }> {
  const prebuilt = shimPrograms.prebuilt;
  if (prebuilt !== undefined && ['runc-interposer.mjs', 'fetch-worker.mjs'].every((f) => existsSync(join(prebuilt, f)))) return { programs: shimPrograms, origin: 'prebuilt' };
  const out = join(dir, 'prebuilt');
  await buildBundle(out, shimPrograms);
  return { programs: { ...shimPrograms, prebuilt: out }, origin: 'bundled-now' };
}

export async function startFloxHost(version: ContainerdVersion, specs: VariantSpec[]): Promise<FloxHost> {
  const dir = await mkdtemp(join(tmpdir(), `flox-realscale-${version.replace('.', '')}-`));
  // The agent mounts large closures' store views in this namespace: down before the removal.
  const cleanups: Array<() => Promise<unknown>> = [() => rm(dir, { recursive: true, force: true }), () => unmountAll(dir)];
  const stop = async (): Promise<void> => {
    for (const c of cleanups.reverse()) await c().catch(() => undefined);
  };
  try {
    const { programs, origin } = await shippedPrograms(dir);
    const apiserver = await startFakeApiserver();
    cleanups.push(() => apiserver.close());
    apiserver.addNode('realscale');
    const binDir = join(dir, 'bin');
    await mkdir(binDir, { recursive: true });
    const variants: Record<string, Variant> = {};
    for (const spec of specs) {
      const vdir = join(dir, spec.name);
      const cache = await serveCache(spec.source.cacheDir, spec.serve ?? {});
      cleanups.push(() => cache.close());
      const hubDir = join(vdir, 'hub');
      const [owner, name] = spec.source.environment.split('/') as [string, string];
      await publishEnvironment(hubDir, owner, name, spec.source.lockfile);
      const storeRoot = join(vdir, 'store');
      const logFile = join(vdir, 'shim.log');
      const patchServiceDir = spec.agent && spec.patchService !== false ? join(vdir, 'run', 'patcher') : '';
      const config: ShimConfigInput = {
        storeRoot,
        caches: [{ url: cache.url }],
        trustedKeys: [spec.source.publicKey],
        sources: [{ type: 'dir', path: hubDir }],
        // Without an agent, nothing listens here: the interposer realises in-process.
        agentSocket: join(vdir, 'run', 'agent.sock'),
        logFile,
        ...(patchServiceDir !== '' ? { patchServiceDir } : {}),
        ...spec.config,
      };
      const configPath = join(vdir, 'config.json');
      await mkdir(vdir, { recursive: true });
      await writeFile(configPath, JSON.stringify(config, null, 2));
      const layout = await installLayout({ programs, prefix: join(vdir, 'install'), config: configPath, compileCache: join(vdir, 'compile-cache'), patchServiceDir });
      // containerd runs `containerd-shim-<name>-v2` for runtime_type io.containerd.<name>.v2.
      const launcher = join(binDir, `containerd-shim-${spec.name}-v2`);
      await writeFile(launcher, `#!/bin/sh\nexec '${layout.launcher}' "$@"\n`);
      await chmod(launcher, 0o755);
      let agent: BundledAgent | undefined;
      if (spec.agent) {
        agent = await startBundledAgent({
          dir: join(vdir, 'agent-home'),
          // No patch service wanted: the agent serves it where no front looks.
          config: { ...config, patchServiceDir: patchServiceDir || join(vdir, 'run', 'unused-patcher'), agent: { ...spec.agentSettings } },
          apiserver,
          nodeName: 'realscale',
        });
        cleanups.push(() => (agent as BundledAgent).stop());
      }
      variants[spec.name] = {
        spec,
        dir: vdir,
        storeRoot,
        logFile,
        cache,
        layout,
        agent,
        shimLog: () => readJsonLines(logFile),
      };
    }
    const containerd = await startContainerd({
      version,
      runtimes: specs.map((s) => ({ name: s.name, runtimeType: `io.containerd.${s.name}.v2`, podAnnotations: FLOX_ANNOTATIONS, containerAnnotations: FLOX_ANNOTATIONS })),
      extraPath: [binDir],
    });
    // Stopped before the agents: its shims' fronts may be talking to them.
    cleanups.push(() => containerd.stop());
    const cri = criClient(containerd.socket, { deadlineMs: 600_000 });
    cleanups.push(async () => cri.close());
    return { dir, containerd, cri, apiserver, variants, bundleOrigin: origin, stop };
  } catch (error) {
    await stop();
    throw error;
  }
}
