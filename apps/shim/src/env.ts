// The only module of the shim that reads process.env (STYLE.md: one env.ts per app).
import { DEFAULT_CONFIG_PATH } from '@flox-k8s/config';

export interface ShimEnv {
  /** Config file path: `FLOXK8S_CONFIG`, else the default. */
  configPath: string;
  /** True when `FLOXK8S_CONFIG` named the file explicitly (then it must exist). */
  configExplicit: boolean;
  /** The real runc the sh front resolved (`FLOXK8S_REAL_RUNC`), if any. */
  realRunc: string | undefined;
  /** Directory for Node's compile cache (`FLOXK8S_COMPILE_CACHE`), if any. */
  compileCache: string | undefined;
  /** `PATH` (the demo looks for containerd and runc on it). */
  path: string;
  /** Where the user ran the command: pnpm's `INIT_CWD` (scripts run in the package dir), else the cwd. */
  invocationDir: string;
}

/** Reads the shim's environment variables once. */
export function readEnv(env: NodeJS.ProcessEnv = process.env): ShimEnv {
  const configured = env['FLOXK8S_CONFIG'];
  const explicit = configured !== undefined && configured !== '';
  return {
    configPath: explicit ? configured : DEFAULT_CONFIG_PATH,
    configExplicit: explicit,
    realRunc: nonEmpty(env['FLOXK8S_REAL_RUNC']),
    compileCache: nonEmpty(env['FLOXK8S_COMPILE_CACHE']),
    path: env['PATH'] ?? '/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin',
    invocationDir: nonEmpty(env['INIT_CWD']) ?? process.cwd(),
  };
}

/** The process environment without the variables the sh front added for us. */
export function runcEnv(env: NodeJS.ProcessEnv = process.env): Record<string, string> {
  const out: Record<string, string> = {};
  for (const [k, v] of Object.entries(env)) {
    if (v !== undefined && k !== 'FLOXK8S_REAL_RUNC') out[k] = v;
  }
  return out;
}

function nonEmpty(v: string | undefined): string | undefined {
  return v === undefined || v === '' ? undefined : v;
}
