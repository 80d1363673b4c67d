// Writes a Flox `manifest.lock` (lockfile-version 1) in the catalog layout Flox writes
// (snake_case package entries, one per install_id and system; compare
// ../shared/fixtures/lockfiles/hello-4systems). Every fixture's lockfile comes from here.
import { createHash } from 'node:crypto';

export interface LockPackage {
  installId: string;
  pname: string;
  version: string;
  description: string;
  license: string;
  /** The `.drv` that built the outputs. */
  derivation: string;
  /** Output name → store path; Flox installs all of them (a `version = 1` manifest). */
  outputs: Record<string, string>;
  outputsToInstall: string[];
}

export interface LockfileSpec {
  system: string;
  packages: readonly LockPackage[];
  vars?: Record<string, string>;
  /** Exported by the on-activate hook, in order. */
  hookExports?: Record<string, string>;
}

/** The lockfile bytes: pretty JSON with a trailing newline, stable for the same store paths. */
export function floxLockfile(spec: LockfileSpec): Uint8Array {
  // A made-up but well-formed nixpkgs revision, derived from the store paths so it is stable.
  const rev = createHash('sha1')
    .update(spec.packages.flatMap((p) => Object.values(p.outputs)).join('\n'))
    .digest('hex');
  const install: Record<string, { 'pkg-path': string }> = {};
  for (const p of spec.packages) install[p.installId] = { 'pkg-path': p.pname };
  const hook = Object.entries(spec.hookExports ?? {}).map(([name, value]) => `    export ${name}="${value}"\n`).join('');
  const lock = {
    'lockfile-version': 1,
    manifest: {
      version: 1,
      install,
      vars: { ...spec.vars },
      hook: hook === '' ? {} : { 'on-activate': hook },
      profile: {},
      options: { systems: [spec.system], allow: { licenses: [] }, semver: {} },
    },
    packages: spec.packages.map((p) => ({
      attr_path: p.pname,
      broken: false,
      derivation: p.derivation,
      description: p.description,
      install_id: p.installId,
      license: p.license,
      locked_url: `https://github.com/flox/nixpkgs?rev=${rev}`,
      name: `${p.pname}-${p.version}`,
      pname: p.pname,
      rev,
      rev_count: 1027867,
      rev_date: '2026-07-05T04:06:12Z',
      scrape_date: '2026-07-06T03:13:10.948632Z',
      stabilities: ['staging', 'unstable'],
      unfree: false,
      version: p.version,
      outputs_to_install: p.outputsToInstall,
      outputs: p.outputs,
      system: spec.system,
      group: 'toplevel',
      priority: 5,
    })),
  };
  return new TextEncoder().encode(`${JSON.stringify(lock, null, 2)}\n`);
}
