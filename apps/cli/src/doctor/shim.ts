// The shim containerd will start for the flox runtime: found where containerd looks for it
// (runtime_path, else containerd's PATH and its own directory), and read back with
// @flox-k8s/shim-layout's inspectLayout.
import { dirname } from 'node:path';
import { inspectLayout, LAUNCHER_NAME } from '@flox-k8s/shim-layout';
import { findOnPath } from './containerd.ts';
import { ok, problem, skipped, type Check } from './report.ts';

const id = 'shim.layout';

export async function checkShim(runtime: Record<string, unknown> | undefined, containerdBinary: string | undefined, containerdPath: string): Promise<Check> {
  if (runtime === undefined) return skipped(id, 'no runtime to check');
  const runtimePath = runtime['runtime_type'] === 'io.containerd.runc.v2' ? runtime['runtime_path'] : undefined;
  let launcher: string | undefined;
  let how: string;
  if (typeof runtimePath === 'string') {
    launcher = runtimePath;
    how = 'runtime_path';
  } else {
    // containerd looks a shim up on its PATH, then beside its own binary.
    const search = containerdBinary === undefined ? containerdPath : `${containerdPath}:${dirname(containerdBinary)}`;
    launcher = await findOnPath(LAUNCHER_NAME, search);
    how = 'containerd\'s PATH';
    if (launcher === undefined) {
      return problem(
        id,
        'FLOXK8S_DOCTOR_SHIM_MISSING',
        `no ${LAUNCHER_NAME} on containerd's PATH (${search})`,
        `the node agent installs the shim under /opt/flox-k8s/shim and links it into /usr/local/bin for this runtime type; check the agent's install log, or pass --containerd-path with the PATH containerd runs with`,
      );
    }
  }
  const layout = await inspectLayout(launcher);
  if (layout.problems.length > 0) {
    return problem(
      id,
      'FLOXK8S_DOCTOR_SHIM_MISSING',
      `the shim at ${launcher} (from ${how}) is incomplete`,
      'reinstall the shim: restart the node agent (it copies the layout at start), or re-run install-layout for this prefix',
      layout.problems,
    );
  }
  return ok(id, `${layout.launcher} (from ${how}): runc front in ${layout.frontDir}, Node ${layout.node}`);
}
