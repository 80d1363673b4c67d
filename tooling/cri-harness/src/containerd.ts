import { execFile, spawn, type ChildProcess } from 'node:child_process';
import { mkdtemp, mkdir, open, readFile, rm, writeFile } from 'node:fs/promises';
import { connect } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { TEST_PAUSE_IMAGE_NAME } from '@flox-k8s/oci-image';
import { containerdBinaries, type ContainerdBinaries, type ContainerdVersion } from './binaries.ts';
import { killAll, processesUnder, sweepStaleDirs, unmountAll } from './cleanup.ts';
import { containerdPaths, renderContainerdConfig, type ContainerdPaths, type RuntimeEntry } from './config.ts';
import { hostPath } from './env.ts';
import { stockContainerdConfig } from './stock-config.ts';
import { criClient } from './cri.ts';
import { ContainerdStartError, CtrCommandError } from './errors.ts';
import { testImages, withTarballFile } from './images.ts';
import type { TomlTable } from './toml.ts';

export { containerdBinaries } from './binaries.ts';
export type { ContainerdBinaries, ContainerdVersion } from './binaries.ts';

const run = promisify(execFile);

export interface StartContainerdOptions {
  version: ContainerdVersion;
  /** CRI runtime handlers besides the default `runc`. */
  runtimes?: readonly RuntimeEntry[];
  defaultRuntime?: string;
  /** Deep-merged into the CRI runtime table (see renderContainerdConfig). */
  criConfig?: TomlTable;
  /** Deep-merged into `[plugins]`. */
  plugins?: TomlTable;
  /** Default `flox-k8s.test/pause:1` (imported automatically unless importTestImages is false). */
  sandboxImage?: string;
  /**
   * `'generated'` (default): the harness's minimal config with `runtimes` etc.; `'stock'`: containerd's own
   * `config default` moved to the private paths (installer tests; `runtimes`/`criConfig`/`plugins` are ignored);
   * a function: your own text, given the private paths.
   */
  config?: 'generated' | 'stock' | ((paths: ContainerdPaths) => string);
  /** Directories put on containerd's PATH after its own bin dir (where it finds shims, e.g. containerd-shim-flox-v2). */
  extraPath?: readonly string[];
  /** Extra environment for containerd (inherited by shims and runc). */
  env?: Record<string, string>;
  /** Import pause, busybox and stub images into `k8s.io` after start; default true. */
  importTestImages?: boolean;
  /** Default 30 s. */
  startTimeoutMs?: number;
  /** Count containerd as up only once CRI answers Version (default true; false for configs without CRI). */
  waitForCri?: boolean;
  /**
   * A directory on tmpfs to hold containerd's state (the task bundles, where a runtime reads
   * config.json) in a private dir of its own, as `/run` holds it on a node. The root (snapshots,
   * content) and the runc runtimes' private runc root stay under the private dir: a runtime of
   * another type (flox.v2) gets no runc options from containerd, so its runc keeps its state in
   * runc's default root, `/run/containerd/runc`, wherever that is, and both stay alike.
   * Default: all under the private dir (`os.tmpdir()`, the disk here).
   */
  runParent?: string;
}

/** A running private containerd. Everything lives under `paths.dir` (its state in a run dir of its own with `runParent`); `stop()` removes it. */
export interface ContainerdHandle {
  version: ContainerdVersion;
  binaries: ContainerdBinaries;
  paths: ContainerdPaths;
  /** The socket path (also `paths.socket`). */
  socket: string;
  pid(): number;
  /** Run `ctr --address <socket> …args`; rejects with CtrCommandError. */
  ctr(args: readonly string[], options?: { timeoutMs?: number }): Promise<{ stdout: string; stderr: string }>;
  /** `ctr -n <namespace> images import` of a tarball path or bytes; namespace default `k8s.io`. */
  importImage(tarball: string | Uint8Array, options?: { namespace?: string }): Promise<void>;
  /** Stop containerd only (shims and containers keep running) and start it again on the same config file. */
  restart(): Promise<void>;
  /** Kill every task, stop containerd (SIGTERM, then SIGKILL), kill stragglers, unmount, remove the dir. Idempotent. */
  stop(): Promise<void>;
  /** containerd's own log so far. */
  log(): Promise<string>;
}

function socketAnswers(path: string): Promise<boolean> {
  return new Promise((resolve) => {
    const s = connect(path);
    s.once('connect', () => {
      s.destroy();
      resolve(true);
    });
    s.once('error', () => resolve(false));
  });
}

async function criAnswers(socket: string): Promise<boolean> {
  const cri = criClient(socket, { deadlineMs: 2_000 });
  try {
    await cri.version();
    return true;
  } catch {
    return false;
  } finally {
    cri.close();
  }
}

async function waitExit(child: ChildProcess, ms: number): Promise<boolean> {
  if (child.exitCode !== null || child.signalCode !== null) return true;
  return new Promise((resolve) => {
    const t = setTimeout(() => resolve(false), ms);
    child.once('exit', () => {
      clearTimeout(t);
      resolve(true);
    });
  });
}

const RUN_DIR_PREFIX = 'flox-ctrd-run-';

/** Start a private containerd of the given generation with its own root, state, socket and config. */
export async function startContainerd(options: StartContainerdOptions): Promise<ContainerdHandle> {
  const binaries = await containerdBinaries(options.version);
  // Stale run dirs first: they hold the rootfs mounts of the snapshots in the private dirs.
  if (options.runParent !== undefined) await sweepStaleDirs(options.runParent, RUN_DIR_PREFIX);
  await sweepStaleDirs(tmpdir(), 'flox-ctrd-');
  const dir = await mkdtemp(join(tmpdir(), `flox-ctrd-${options.version.replace('.', '')}-`));
  const runDir = options.runParent === undefined ? undefined : await mkdtemp(join(options.runParent, RUN_DIR_PREFIX));
  const paths = containerdPaths(dir, runDir);
  await Promise.all([paths.root, paths.state, paths.runcRoot, paths.podLogs].map((d) => mkdir(d, { recursive: true })));
  const sandboxImage = options.sandboxImage ?? TEST_PAUSE_IMAGE_NAME;
  const config = typeof options.config === 'function'
    ? options.config(paths)
    : options.config === 'stock'
      ? await stockContainerdConfig(binaries, paths, sandboxImage)
      : renderContainerdConfig(options.version, paths, {
        sandboxImage,
        ...(options.runtimes ? { runtimes: options.runtimes } : {}),
        ...(options.defaultRuntime ? { defaultRuntime: options.defaultRuntime } : {}),
        ...(options.criConfig ? { criConfig: options.criConfig } : {}),
        ...(options.plugins ? { plugins: options.plugins } : {}),
      });
  await writeFile(paths.config, config);
  const env = {
    ...process.env,
    PATH: [binaries.binDir, ...(options.extraPath ?? []), hostPath()].join(':'),
    ...options.env,
  };
  let child: ChildProcess | undefined;
  let stopped = false;

  const launch = async (): Promise<void> => {
    const logFile = await open(paths.log, 'a');
    try {
      child = spawn(binaries.containerd, ['--config', paths.config, '--log-level', 'info'], {
        env,
        stdio: ['ignore', logFile.fd, logFile.fd],
        detached: true,
      });
    } finally {
      await logFile.close();
    }
    const current = child;
    // Lets a later run sweep this dir if this process dies without stop().
    await writeFile(join(dir, 'containerd.pid'), String(current.pid ?? ''));
    // So that sweepStaleDirs finds the run dir of a containerd that died without stop() too.
    if (runDir !== undefined) await writeFile(join(runDir, 'containerd.pid'), String(current.pid ?? ''));
    const deadline = Date.now() + (options.startTimeoutMs ?? 30_000);
    for (;;) {
      if (current.exitCode !== null || current.signalCode !== null) {
        const tail = (await readFile(paths.log, 'utf8').catch(() => '')).split('\n').slice(-20).join('\n');
        throw new ContainerdStartError(`containerd ${options.version} exited (${current.exitCode ?? current.signalCode}) before its socket answered; log tail:\n${tail}`);
      }
      if ((await socketAnswers(paths.socket)) && (!(options.waitForCri ?? true) || (await criAnswers(paths.socket)))) return;
      if (Date.now() > deadline) {
        throw new ContainerdStartError(`containerd ${options.version} socket ${paths.socket} did not answer within ${options.startTimeoutMs ?? 30_000} ms; see ${paths.log}`);
      }
      await new Promise((r) => setTimeout(r, 50));
    }
  };

  const stopDaemon = async (): Promise<void> => {
    const c = child;
    if (c === undefined || c.pid === undefined) return;
    if (c.exitCode === null && c.signalCode === null) {
      process.kill(c.pid, 'SIGTERM');
      if (!(await waitExit(c, 10_000))) {
        process.kill(c.pid, 'SIGKILL');
        await waitExit(c, 5_000);
      }
    }
  };

  const ctr = async (args: readonly string[], o: { timeoutMs?: number } = {}): Promise<{ stdout: string; stderr: string }> => {
    try {
      return await run(binaries.ctr, ['--address', paths.socket, ...args], { timeout: o.timeoutMs ?? 60_000, maxBuffer: 64 << 20 });
    } catch (cause) {
      const stderr = (cause as { stderr?: string }).stderr?.trim() ?? '';
      throw new CtrCommandError(`ctr ${args.join(' ')} failed: ${stderr || (cause as Error).message}`, { cause });
    }
  };

  const killTasks = async (): Promise<void> => {
    const namespaces = (await ctr(['namespaces', 'ls', '-q'], { timeoutMs: 10_000 }).catch(() => ({ stdout: '' }))).stdout.split('\n').filter((n) => n !== '');
    for (const ns of namespaces) {
      const ids = (await ctr(['-n', ns, 'tasks', 'ls', '-q'], { timeoutMs: 10_000 }).catch(() => ({ stdout: '' }))).stdout.split('\n').filter((n) => n !== '');
      await Promise.all(ids.map((id) => ctr(['-n', ns, 'tasks', 'kill', '-a', '-s', 'SIGKILL', id], { timeoutMs: 10_000 }).catch(() => undefined)));
      await Promise.all(ids.map((id) => ctr(['-n', ns, 'tasks', 'delete', '-f', id], { timeoutMs: 15_000 }).catch(() => undefined)));
    }
  };

  const handle: ContainerdHandle = {
    version: options.version,
    binaries,
    paths,
    socket: paths.socket,
    pid: () => child?.pid ?? -1,
    ctr,
    importImage: (tarball, o = {}) =>
      withTarballFile(tarball, async (file) => {
        await ctr(['-n', o.namespace ?? 'k8s.io', 'images', 'import', file], { timeoutMs: 120_000 });
      }),
    restart: async () => {
      await stopDaemon();
      await launch();
    },
    stop: async () => {
      if (stopped) return;
      stopped = true;
      if (child && child.exitCode === null && child.signalCode === null) await killTasks();
      await stopDaemon();
      // The run dir holds the containers' rootfs mounts of snapshots in dir: both unmounted before either is removed.
      const dirs = runDir === undefined ? [dir] : [runDir, dir];
      for (const d of dirs) killAll(await processesUnder(d));
      for (const d of dirs) await unmountAll(d);
      for (const d of dirs) await rm(d, { recursive: true, force: true, maxRetries: 3 });
    },
    log: () => readFile(paths.log, 'utf8'),
  };

  try {
    await launch();
    if (options.importTestImages ?? true) {
      const images = await testImages();
      // One at a time: parallel imports contend on containerd's metadata store and were slower on 1.6/1.7.
      for (const image of [images.pause, images.busybox, images.stub]) await handle.importImage(image.tarball);
    }
  } catch (err) {
    await handle.stop();
    throw err;
  }
  return handle;
}
