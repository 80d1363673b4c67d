// What containerd will run: its version, the config files it loads, and the flox runtime as
// the merged config defines it (read with @flox-k8s/containerd-config, the installer's code).
import { execFile } from 'node:child_process';
import { access, constants } from 'node:fs/promises';
import { join } from 'node:path';
import { promisify } from 'node:util';
import {
  criPluginKey,
  getPath,
  loadConfigChain,
  matchesGlob,
  parseContainerdVersion,
  renderRuntimeBlock,
  runtimeView,
  type ContainerdInfo,
  type LoadedConfig,
  type RuntimeView,
} from '@flox-k8s/containerd-config';
import { errorCode } from '@flox-k8s/core';
import { ok, problem, skipped, type Check } from './report.ts';

const run = promisify(execFile);

/** The annotation the shim acts on; containerd passes it into the OCI spec only when a pattern matches it. */
const ENVIRONMENT_ANNOTATION = 'flox.dev/environment';
const AGENT_INSTALL = 'deploy the node agent (kubectl apply -k apps/node-agent/deploy/): it adds the runtime and restarts containerd';

/** The first executable `name` in the `:`-separated `path`. */
export async function findOnPath(name: string, path: string): Promise<string | undefined> {
  for (const dir of path.split(':')) {
    if (dir === '') continue;
    const file = join(dir, name);
    if (await access(file, constants.X_OK).then(() => true, () => false)) return file;
  }
  return undefined;
}

export interface VersionFinding {
  check: Check;
  binary?: string;
  info?: ContainerdInfo;
}

export async function checkVersion(containerd: string, path: string): Promise<VersionFinding> {
  const id = 'containerd.version';
  const binary = containerd.includes('/') ? containerd : await findOnPath(containerd, path);
  if (binary === undefined) {
    return { check: problem(id, 'FLOXK8S_DOCTOR_CONTAINERD_NOT_FOUND', `no ${containerd} on PATH`, 'install containerd 1.6 or newer (Debian: apt-get install containerd), or name it with --containerd <path>') };
  }
  let output: string;
  try {
    output = (await run(binary, ['--version'], { timeout: 10_000 })).stdout;
  } catch (error) {
    return { binary, check: problem(id, 'FLOXK8S_DOCTOR_CONTAINERD_NOT_FOUND', `${binary} --version failed: ${(error as Error).message.split('\n')[0]}`, 'check the containerd binary, or name another with --containerd <path>') };
  }
  try {
    const info = parseContainerdVersion(output);
    const runtimePath = info.supportsRuntimePath ? 'honours runtime_path' : 'ignores runtime_path (honoured from 1.6.21 / 1.7.1)';
    return { binary, info, check: ok(id, `containerd ${info.version} at ${binary}: config version ${info.configVersion}; ${runtimePath}`) };
  } catch (error) {
    return { binary, check: problem(id, errorCode(error) ?? 'FLOXK8S_CONTAINERD_VERSION', (error as Error).message, 'run containerd 1.6 or newer') };
  }
}

export interface ConfigFinding {
  check: Check;
  chain?: LoadedConfig[];
}

export async function checkConfig(configPath: string, info: ContainerdInfo | undefined): Promise<ConfigFinding> {
  const id = 'containerd.config';
  try {
    const chain = await loadConfigChain(configPath, info?.configVersion ?? 2);
    const [main, ...imports] = chain;
    if (main?.text === undefined) {
      return { chain, check: ok(id, `${configPath} does not exist: containerd runs on its defaults (no flox runtime)`) };
    }
    const details = imports.length === 0 ? undefined : [`imports, in load order: ${imports.map((f) => f.path).join(', ')}`];
    return { chain, check: ok(id, `${configPath} (version ${main.format}), ${chain.length} file${chain.length === 1 ? '' : 's'} loaded`, details) };
  } catch (error) {
    return { check: problem(id, errorCode(error) ?? 'FLOXK8S_CONTAINERD_CONFIG_INVALID', (error as Error).message, `fix ${configPath} (containerd itself will not start on an invalid config)`) };
  }
}

function stringList(value: unknown): string[] {
  return Array.isArray(value) ? value.filter((v): v is string => typeof v === 'string') : [];
}

/** The flox runtime's entry, type, annotation passthrough and cgroup driver, as containerd will read them. */
export function checkRuntime(chain: LoadedConfig[], info: ContainerdInfo | undefined, name: string): { checks: Check[]; view: RuntimeView } {
  const view = runtimeView(chain, name);
  const configPath = chain[0]?.path ?? '';
  const where = view.criFile ?? configPath;
  // The agent's block without its markers: a runtime added by hand is not the agent's to remove.
  const block = renderRuntimeBlock(view.format, { name, annotations: ['flox.dev/*'] })
    .split('\n')
    .filter((line) => line !== '' && !line.startsWith('# '))
    .join('\n');
  const runtime = view.runtime;
  if (runtime === undefined) {
    const shadowed = view.shadowed.length > 0;
    return {
      view,
      checks: [
        shadowed
          ? problem(
              'runtime.entry',
              'FLOXK8S_DOCTOR_RUNTIME_SHADOWED',
              `runtime "${name}" in ${view.shadowed.join(', ')} is overridden: ${where} redefines the CRI plugin section, and containerd keeps only the last file's`,
              `move the runtime into ${where}, or re-run the node agent's install (it writes into the last file that defines the CRI section)`,
            )
          : problem(
              'runtime.entry',
              'FLOXK8S_DOCTOR_RUNTIME_MISSING',
              `no runtime "${name}" in ${where}: pods with runtimeClassName ${name} cannot start`,
              `${AGENT_INSTALL}; or add this to ${where} and restart containerd (with containerd-shim-flox-v2 on containerd's PATH):\n${block}`,
            ),
        skipped('runtime.type', 'no runtime to check'),
        skipped('runtime.annotations', 'no runtime to check'),
        skipped('runtime.systemd-cgroup', 'no runtime to check'),
      ],
    };
  }
  const checks: Check[] = [ok('runtime.entry', `runtime "${name}" in ${where} (${view.marked ? 'added by the node agent' : 'written by hand'})`)];

  const type = runtime['runtime_type'];
  const runtimePath = runtime['runtime_path'];
  if (type === 'io.containerd.flox.v2') {
    checks.push(ok('runtime.type', 'runtime_type = "io.containerd.flox.v2": containerd runs containerd-shim-flox-v2 from its PATH'));
  } else if (type === 'io.containerd.runc.v2' && typeof runtimePath === 'string') {
    if (info !== undefined && !info.supportsRuntimePath) {
      checks.push(
        problem(
          'runtime.type',
          'FLOXK8S_DOCTOR_RUNTIME_PATH_IGNORED',
          `containerd ${info.version} ignores runtime_path: pods of this runtime run plain runc, without their environment`,
          `use runtime_type = "io.containerd.flox.v2" with containerd-shim-flox-v2 on containerd's PATH (what the node agent writes for this version), or upgrade containerd to 1.6.21 / 1.7.1 or newer`,
        ),
      );
    } else {
      checks.push(ok('runtime.type', `runtime_type = "io.containerd.runc.v2" with runtime_path = ${runtimePath}`));
    }
  } else {
    checks.push(
      problem(
        'runtime.type',
        'FLOXK8S_DOCTOR_RUNTIME_TYPE',
        `runtime_type = ${JSON.stringify(type)}${typeof runtimePath === 'string' ? '' : ' without runtime_path'}: containerd never starts the flox shim for it`,
        `set runtime_type = "io.containerd.flox.v2", or "io.containerd.runc.v2" with runtime_path = "<prefix>/bin/containerd-shim-flox-v2" (containerd 1.6.21 / 1.7.1 or newer)`,
      ),
    );
  }

  const missing = (['pod_annotations', 'container_annotations'] as const).filter(
    (key) => !stringList(runtime[key]).some((pattern) => matchesGlob(pattern, ENVIRONMENT_ANNOTATION)),
  );
  checks.push(
    missing.length === 0
      ? ok('runtime.annotations', `pod_annotations and container_annotations pass ${ENVIRONMENT_ANNOTATION} into the OCI spec`)
      : problem(
          'runtime.annotations',
          'FLOXK8S_DOCTOR_ANNOTATIONS',
          `${missing.join(' and ')} do${missing.length === 1 ? 'es' : ''} not pass ${ENVIRONMENT_ANNOTATION}: containerd drops it and containers start without their environment`,
          `add pod_annotations = ["flox.dev/*"] and container_annotations = ["flox.dev/*"] to runtime "${name}" in ${where}, then restart containerd`,
        ),
  );

  const runcSystemd = getPath(view.runc, ['options', 'SystemdCgroup']) === true;
  const floxSystemd = getPath(runtime, ['options', 'SystemdCgroup']) === true;
  const driver = (systemd: boolean): string => (systemd ? 'systemd' : 'cgroupfs');
  if (runcSystemd === floxSystemd) {
    checks.push(ok('runtime.systemd-cgroup', `SystemdCgroup = ${floxSystemd}, as runc's (${driver(floxSystemd)} cgroup driver)`));
  } else {
    const next =
      type === 'io.containerd.flox.v2'
        ? `a runtime of type io.containerd.flox.v2 gets no runc options: use runtime_type = "io.containerd.runc.v2" + runtime_path (containerd 1.6.21 / 1.7.1 or newer) with [plugins."${criPluginKey(view.format)}".containerd.runtimes.${name}.options] SystemdCgroup = ${runcSystemd}`
        : `set SystemdCgroup = ${runcSystemd} under runtime "${name}"'s options in ${where} (the node agent mirrors runc's), then restart containerd`;
    checks.push(
      problem(
        'runtime.systemd-cgroup',
        'FLOXK8S_DOCTOR_SYSTEMD_CGROUP',
        `runc uses the ${driver(runcSystemd)} cgroup driver (SystemdCgroup = ${runcSystemd}), runtime "${name}" the ${driver(floxSystemd)} one: kubelet and flox containers disagree on cgroups`,
        next,
      ),
    );
  }
  return { checks, view };
}
