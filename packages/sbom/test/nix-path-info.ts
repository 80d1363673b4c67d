// What real Nix says about a closure: `nix path-info -r --json <roots>` against the
// host store. A local call for now (the shared Nix runner of @flox-k8s/nix-fixtures is
// not exported): a bare nix-bin install has no nixbld group and Nix 2.8 needs the
// nix-command feature, so both are set here, and no substituter is consulted.
import { execFile } from 'node:child_process';
import { promisify } from 'node:util';

const run = promisify(execFile);

const NIX_OPTIONS = [
  '--extra-experimental-features', 'nix-command',
  '--option', 'build-users-group', '',
  '--option', 'sandbox', 'false',
  '--option', 'substituters', '',
];

/** One entry of `nix path-info --json`, reduced to what an SBOM states. */
export interface NixPathInfo {
  path: string;
  /** As Nix prints it: SRI (`sha256-<base64>`) in Nix ≥ 2.4. */
  narHash: string;
  narSize: number;
  references: string[];
  deriver?: string;
}

/** `nix path-info -r --json` of `roots`: the whole closure, one entry per path. */
export async function nixPathInfo(roots: readonly string[]): Promise<NixPathInfo[]> {
  const { stdout } = await run('nix', [...NIX_OPTIONS, 'path-info', '-r', '--json', ...roots], {
    maxBuffer: 64 * 1024 * 1024,
    timeout: 120_000,
  });
  return JSON.parse(stdout) as NixPathInfo[];
}

/** Nix's own `builtins.parseDrvName` of each name, in one `nix-instantiate --eval`. */
export async function nixParseDrvNames(names: readonly string[]): Promise<Array<{ name: string; version: string }>> {
  const list = names.map((n) => JSON.stringify(n)).join(' ');
  const { stdout } = await run(
    'nix-instantiate',
    ['--option', 'build-users-group', '', '--eval', '--json', '--strict', '-E', `map builtins.parseDrvName [ ${list} ]`],
    { maxBuffer: 64 * 1024 * 1024, timeout: 120_000 },
  );
  return JSON.parse(stdout) as Array<{ name: string; version: string }>;
}

/** Nix's own `builtins.compareVersions` of each pair, in one `nix-instantiate --eval`. */
export async function nixCompareVersions(pairs: ReadonlyArray<readonly [string, string]>): Promise<number[]> {
  const list = pairs.map(([a, b]) => `[ ${JSON.stringify(a)} ${JSON.stringify(b)} ]`).join(' ');
  const { stdout } = await run(
    'nix-instantiate',
    ['--option', 'build-users-group', '', '--eval', '--json', '--strict', '-E', `map (p: builtins.compareVersions (builtins.elemAt p 0) (builtins.elemAt p 1)) [ ${list} ]`],
    { maxBuffer: 64 * 1024 * 1024, timeout: 120_000 },
  );
  return JSON.parse(stdout) as number[];
}
