// The only module of the CLI that reads process.env (STYLE.md: one env.ts per app).
import { DEFAULT_CONFIG_PATH } from '@flox-k8s/config';

export interface CliEnv {
  /** Config file: `FLOXK8S_CONFIG`, else the node's default (`/etc/flox-k8s/config.json`). */
  configPath: string;
  /** True when `FLOXK8S_CONFIG` named the file (then it must exist). */
  configExplicit: boolean;
  /** `PATH`, where `doctor` looks for containerd and, by default, the shim (containerd's own PATH is usually the same). */
  path: string;
  /** Where relative paths on the command line resolve: pnpm's `INIT_CWD` (scripts run in the package dir), else the cwd. */
  cwd: string;
  /** `KUBECONFIG` as given (kubectl's: one file, or several joined with `:`). */
  kubeconfig: string | undefined;
  /** `HOME`, for `~/.kube/config`. */
  home: string | undefined;
  /** Running in a pod: `KUBERNETES_SERVICE_HOST` and `_PORT` are set (the service account's credentials apply). */
  inCluster: boolean;
}

export function readEnv(env: NodeJS.ProcessEnv = process.env): CliEnv {
  const configured = nonEmpty(env['FLOXK8S_CONFIG']);
  return {
    configPath: configured ?? DEFAULT_CONFIG_PATH,
    configExplicit: configured !== undefined,
    path: env['PATH'] ?? '/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin',
    cwd: nonEmpty(env['INIT_CWD']) ?? process.cwd(),
    kubeconfig: nonEmpty(env['KUBECONFIG']),
    home: nonEmpty(env['HOME']),
    inCluster: nonEmpty(env['KUBERNETES_SERVICE_HOST']) !== undefined && nonEmpty(env['KUBERNETES_SERVICE_PORT']) !== undefined,
  };
}

function nonEmpty(v: string | undefined): string | undefined {
  return v === undefined || v === '' ? undefined : v;
}
