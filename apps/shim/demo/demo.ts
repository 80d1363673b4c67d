// `pnpm demo`: the product's main job on one machine. Starts a private containerd
// with the flox runtime, publishes an environment into a local hub, runs a pod
// through CRI that executes a program from the environment, prints its stdout and
// exits with its status. Offline it uses the real-Nix fixture cache.
import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { NIXOS_CACHE_KEY, type ShimConfigInput } from '@flox-k8s/config';
import { errorCode } from '@flox-k8s/core';
import { publishEnvironment } from '@flox-k8s/environments';
import { STUB_IMAGE_NAME } from '@flox-k8s/oci-image';
import { installLayout } from '@flox-k8s/shim-layout';
import { readEnv } from '../src/env.ts';
import { UsageError } from '../src/errors.ts';
import { shimPrograms } from '../src/programs.ts';
import { DEMO_USAGE, LARGE_DEMO_COMMAND, parseDemoFlags, type DemoFlags } from './flags.ts';
import { describeProgress, followShimLog } from './progress.ts';
import { checkDemoHost } from './prerequisites.ts';
// The containerd + CRI harness the e2e suites and the benchmarks use too (tooling/cri-harness).
import {
  containerConfig,
  containerLogPath,
  criClient,
  hostNetworkPod,
  readContainerLog,
  removePod,
  startContainerd,
  waitForContainer,
} from '@flox-k8s/cri-harness';

const DEMO_ENVIRONMENT = 'demo/example';
const say = (line: string): void => void process.stderr.write(`demo: ${line}\n`);

async function main(flags: DemoFlags): Promise<number> {
  const env = readEnv();
  const host = await checkDemoHost(env.path);
  const cleanups: Array<() => Promise<unknown>> = [];
  const dir = await mkdtemp(join(tmpdir(), 'flox-k8s-demo-'));
  cleanups.push(() => rm(dir, { recursive: true, force: true }));
  try {
    // What to run: the fixture environment (offline) or the given lockfile, with caches and keys.
    let lockBytes: Uint8Array | undefined;
    let caches = flags.caches;
    let trustedKeys = flags.trustedKeys;
    let command = flags.command;
    if (flags.lockfile !== undefined) {
      lockBytes = new Uint8Array(await readFile(resolve(env.invocationDir, flags.lockfile)).catch((cause: unknown) => {
        throw new UsageError(`--lockfile ${flags.lockfile}: ${(cause as Error).message}`, { cause });
      }));
      if (caches.length === 0) caches = ['https://cache.nixos.org'];
      if (trustedKeys.length === 0) trustedKeys = [NIXOS_CACHE_KEY];
      if (command.length === 0) throw new UsageError(`with --lockfile, give the command to run after --\n${DEMO_USAGE}`, );
    } else if (flags.hub?.kind !== 'url') {
      // Offline: a real-Nix fixture environment (small, or --large) from a loopback xz cache.
      const { nixFixtures, nixLargeFixtures, serveCache } = await import('@flox-k8s/nix-fixtures');
      say(flags.large ? 'building the large real-Nix fixture (once, ~5 min: 138 store paths, 344 MB; cached afterwards)' : 'building the real-Nix fixture cache (once; cached afterwards)');
      const fixtures = flags.large ? await nixLargeFixtures() : await nixFixtures();
      lockBytes = fixtures.lockfile.bytes;
      if (caches.length === 0) {
        const served = await serveCache(fixtures.caches.xz);
        cleanups.push(() => served.close());
        caches = [served.url];
      }
      if (trustedKeys.length === 0) trustedKeys = [fixtures.publicKey];
      if (command.length === 0) command = flags.large ? [...LARGE_DEMO_COMMAND] : ['hello-flox'];
    } else if (command.length === 0) {
      throw new UsageError(`with --hub URL, give the command to run after --\n${DEMO_USAGE}`, );
    }
    if (caches.length === 0) caches = ['https://cache.nixos.org'];
    if (trustedKeys.length === 0) trustedKeys = [NIXOS_CACHE_KEY];

    // The hub: publish into a directory (given or temporary), or use an HTTP hub as is.
    let environment = flags.environment ?? DEMO_ENVIRONMENT;
    let source: NonNullable<ShimConfigInput['sources']>[number];
    if (flags.hub?.kind === 'url') source = { type: 'hub', url: flags.hub.url };
    else {
      const hubDir = flags.hub === undefined ? join(dir, 'hub') : resolve(env.invocationDir, flags.hub.path);
      const [owner, name] = environment.replace(/[:@].*$/, '').split('/') as [string, string];
      const published = await publishEnvironment(hubDir, owner, name, lockBytes as Uint8Array);
      environment = `${owner}/${name}:${published.generation}`;
      say(`published ${environment} (sha256:${published.digest.slice(0, 12)}…) into ${hubDir}`);
      source = { type: 'dir', path: hubDir };
    }

    const configPath = join(dir, 'config.json');
    const config: ShimConfigInput = {
      storeRoot: join(dir, 'store'),
      caches: caches.map((url) => ({ url })),
      trustedKeys,
      sources: [source],
      agentSocket: join(dir, 'agent.sock'),
      logFile: join(dir, 'shim.log'),
    };
    await writeFile(configPath, JSON.stringify(config, null, 2));
    // No node agent here: never hand creates to a patch service another install may run.
    const layout = await installLayout({ programs: shimPrograms, prefix: join(dir, 'install'), fromSource: true, config: configPath, compileCache: join(dir, 'compile-cache'), patchServiceDir: '' });

    say(`starting a private containerd ${host.containerdVersion} with the flox runtime`);
    const containerd = await startContainerd({
      version: host.generation,
      runtimes: [{ name: 'flox', runtimeType: 'io.containerd.flox.v2', podAnnotations: ['flox.dev/*'], containerAnnotations: ['flox.dev/*'] }],
      extraPath: [join(layout.prefix, 'bin')],
    });
    cleanups.push(() => containerd.stop());
    const cri = criClient(containerd.socket, { deadlineMs: 600_000 });
    cleanups.push(async () => cri.close());

    say(`running a pod (runtimeClass flox, flox.dev/environment: ${environment}): ${command.join(' ')}`);
    const pod = await hostNetworkPod({ name: 'flox-demo', logDirectory: join(dir, 'pod-logs'), annotations: { 'flox.dev/environment': environment } });
    const podId = await cri.runPodSandbox(pod, 'flox');
    cleanups.push(() => removePod(cri, podId));
    const container = containerConfig({ name: 'demo', image: STUB_IMAGE_NAME, command });
    let status: Awaited<ReturnType<typeof waitForContainer>>;
    // The cold start happens in the interposer (another process): its log says how far it is.
    const started = performance.now();
    const follow = await followShimLog(config.logFile as string, (line) => {
      const progress = describeProgress(line);
      if (progress !== undefined) say(progress);
      else if (line.msg === 'container patched') say(`container patched (${String(line['via'])}) ${((performance.now() - started) / 1000).toFixed(1)} s after the create`);
    });
    try {
      let id: string;
      try {
        id = await cri.createContainer(podId, container, pod);
        await cri.startContainer(id);
      } finally {
        await follow.stop();
      }
      status = await waitForContainer(cri, id, { timeoutMs: 600_000 });
    } catch (error) {
      const log = await readFile(config.logFile as string, 'utf8').catch(() => '');
      if (log !== '') say(`shim log:\n${log.trim()}`);
      throw error;
    }
    const output = await readContainerLog(containerLogPath(pod, container));
    process.stdout.write(output.stdout);
    process.stderr.write(output.stderr);
    say(`container exited with status ${status.exit_code}`);
    return status.exit_code;
  } finally {
    for (const cleanup of cleanups.reverse()) await cleanup().catch(() => undefined);
  }
}

try {
  const flags = parseDemoFlags(process.argv.slice(2));
  if (flags.help) {
    process.stdout.write(`${DEMO_USAGE}\n`);
    process.exit(0);
  }
  process.exitCode = await main(flags);
} catch (error) {
  const code = errorCode(error) ?? (error as { code?: unknown }).code ?? 'FLOXK8S_DEMO_FAILED';
  process.stderr.write(`demo: ${String(code)}: ${(error as Error).message}\n`);
  process.exitCode = 2;
}
