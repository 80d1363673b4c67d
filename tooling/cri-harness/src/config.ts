import { join } from 'node:path';
import type { ContainerdVersion } from './binaries.ts';
import { renderToml, type TomlTable } from './toml.ts';

/** One CRI runtime handler (`runtimeHandler` in RunPodSandbox selects it by `name`). */
export interface RuntimeEntry {
  name: string;
  /** Default `io.containerd.runc.v2`. */
  runtimeType?: string;
  /** Shim binary to start instead of the one named by runtimeType (containerd ≥ 1.6.21 / 1.7.1 / 2.x). */
  runtimePath?: string;
  /** The runtime's `options` table, e.g. `{ BinaryName: '/path/to/runc' }`. For runc.v2 types `Root` defaults to the private runc root. */
  options?: Record<string, string | number | boolean>;
  /** Annotation keys (globs like `flox.dev/*`) passed from the pod into the OCI spec. */
  podAnnotations?: string[];
  containerAnnotations?: string[];
  /** Further keys of the runtime's table, verbatim. */
  extra?: TomlTable;
}

/** Every path a private containerd uses; all inside `dir`. */
export interface ContainerdPaths {
  dir: string;
  root: string;
  state: string;
  socket: string;
  config: string;
  log: string;
  /** runc's `--root` for the runtimes the harness configures (keeps runc state out of /run/containerd). */
  runcRoot: string;
  /** Where CRI pods' container logs go by default (`criClient` pod helpers use it). */
  podLogs: string;
}

export interface ContainerdConfigOptions {
  runtimes?: readonly RuntimeEntry[];
  /** Default `runc`. */
  defaultRuntime?: string;
  sandboxImage: string;
  /** Deep-merged into the CRI runtime table: `plugins."io.containerd.grpc.v1.cri"` (1.x) or `plugins."io.containerd.cri.v1.runtime"` (2.x). */
  criConfig?: TomlTable;
  /** Deep-merged into `[plugins]` last. */
  plugins?: TomlTable;
}

/** The private paths of a containerd in `dir`; its state (the task bundles) in `runDir` (default `dir`), as /run holds it on a node. */
export function containerdPaths(dir: string, runDir: string = dir): ContainerdPaths {
  return {
    dir,
    root: join(dir, 'root'),
    state: join(runDir, 'state'),
    socket: join(dir, 'containerd.sock'),
    config: join(dir, 'config.toml'),
    log: join(dir, 'containerd.log'),
    runcRoot: join(dir, 'runc'),
    podLogs: join(dir, 'pod-logs'),
  };
}

function merge(into: TomlTable, from: TomlTable | undefined): TomlTable {
  if (from === undefined) return into;
  for (const [k, v] of Object.entries(from)) {
    const cur = into[k];
    const bothTables = typeof v === 'object' && !Array.isArray(v) && typeof cur === 'object' && !Array.isArray(cur);
    into[k] = bothTables ? merge({ ...(cur as TomlTable) }, v as TomlTable) : v;
  }
  return into;
}

function runtimeTable(entry: RuntimeEntry, paths: ContainerdPaths): TomlTable {
  const runtimeType = entry.runtimeType ?? 'io.containerd.runc.v2';
  const table: TomlTable = { runtime_type: runtimeType };
  if (entry.runtimePath !== undefined) table.runtime_path = entry.runtimePath;
  if (entry.podAnnotations !== undefined) table.pod_annotations = entry.podAnnotations;
  if (entry.containerAnnotations !== undefined) table.container_annotations = entry.containerAnnotations;
  const options = runtimeType === 'io.containerd.runc.v2' ? { SystemdCgroup: false, Root: paths.runcRoot, ...entry.options } : entry.options;
  if (options !== undefined) table.options = { ...options };
  return merge(table, entry.extra);
}

/**
 * The config of a private containerd: version 2 (`io.containerd.grpc.v1.cri`) for 1.6/1.7,
 * version 3 (`io.containerd.cri.v1.runtime` + `io.containerd.cri.v1.images`) for 2.x.
 * No CNI is configured: the suites run host-network pods only.
 */
export function renderContainerdConfig(version: ContainerdVersion, paths: ContainerdPaths, options: ContainerdConfigOptions): string {
  const runtimes: TomlTable = { runc: runtimeTable({ name: 'runc' }, paths) };
  for (const r of options.runtimes ?? []) runtimes[r.name] = runtimeTable(r, paths);
  const defaultRuntime = options.defaultRuntime ?? 'runc';
  const cni = { bin_dir: join(paths.dir, 'cni', 'bin'), conf_dir: join(paths.dir, 'cni', 'net.d') };
  const streaming = { stream_server_address: '127.0.0.1', stream_server_port: '0' };
  let plugins: TomlTable;
  if (version === '2.1') {
    plugins = {
      'io.containerd.cri.v1.images': { snapshotter: 'overlayfs', pinned_images: { sandbox: options.sandboxImage } },
      'io.containerd.cri.v1.runtime': merge(
        {
          restrict_oom_score_adj: true,
          enable_cdi: false,
          containerd: { default_runtime_name: defaultRuntime, runtimes },
          cni: { bin_dirs: [cni.bin_dir], conf_dir: cni.conf_dir },
        },
        options.criConfig,
      ),
      'io.containerd.grpc.v1.cri': streaming,
      'io.containerd.nri.v1.nri': { disable: true },
      'io.containerd.internal.v1.opt': { path: join(paths.dir, 'opt') },
    };
  } else {
    plugins = {
      'io.containerd.grpc.v1.cri': merge(
        {
          sandbox_image: options.sandboxImage,
          restrict_oom_score_adj: true,
          ...streaming,
          containerd: { snapshotter: 'overlayfs', default_runtime_name: defaultRuntime, runtimes },
          cni,
        },
        options.criConfig,
      ),
      'io.containerd.internal.v1.opt': { path: join(paths.dir, 'opt') },
    };
    if (version === '1.7') plugins['io.containerd.nri.v1.nri'] = { disable: true };
  }
  const config: TomlTable = {
    version: version === '2.1' ? 3 : 2,
    root: paths.root,
    state: paths.state,
    grpc: { address: paths.socket },
    ttrpc: { address: `${paths.socket}.ttrpc` },
    plugins: merge(plugins, options.plugins),
  };
  return renderToml(config);
}
