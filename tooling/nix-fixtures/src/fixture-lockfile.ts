// A Flox `manifest.lock` (lockfile-version 1) naming the fixture store paths, in
// the catalog layout Flox writes (snake_case package entries, one per
// install_id and system; compare ../shared/fixtures/lockfiles/hello-4systems).
import { createHash } from 'node:crypto';
import { FIXTURE_ATTRS, FIXTURE_PACKAGES, type FixturePackage } from './fixtures-expression.ts';

export const FIXTURE_SYSTEM = 'x86_64-linux';

/** What the activation of the fixture environment must produce; e2e tests assert on these. */
export const FIXTURE_ACTIVATION = {
  vars: { FLOX_FIXTURE_VAR: 'from-vars' },
  hookExports: { FLOX_FIXTURE_HOOK: 'from-hook' },
} as const;

const descriptions: Record<FixturePackage, string> = {
  busybox: 'Static busybox with applet links (flox-k8s test fixture)',
  data: 'Text data files (flox-k8s test fixture)',
  script: 'Shell script greeting from the fixture data (flox-k8s test fixture)',
  tree: 'Executable, empty file, nested directory and symlinks (flox-k8s test fixture)',
};

export interface FixtureLockInputs {
  outputs: Record<FixturePackage, string>;
  derivations: Record<FixturePackage, string>;
}

/** The lockfile bytes: pretty JSON with a trailing newline, stable for the same store paths. */
export function fixtureLockfile(inputs: FixtureLockInputs): Uint8Array {
  // A made-up but well-formed nixpkgs revision, derived from the store paths so it is stable.
  const rev = createHash('sha1').update(Object.values(inputs.outputs).join('\n')).digest('hex');
  const install: Record<string, { 'pkg-path': string }> = {};
  for (const attr of FIXTURE_ATTRS) install[FIXTURE_PACKAGES[attr].installId] = { 'pkg-path': FIXTURE_PACKAGES[attr].pname };

  const lock = {
    'lockfile-version': 1,
    manifest: {
      version: 1,
      install,
      vars: { ...FIXTURE_ACTIVATION.vars },
      hook: {
        'on-activate': Object.entries(FIXTURE_ACTIVATION.hookExports)
          .map(([name, value]) => `    export ${name}="${value}"\n`)
          .join(''),
      },
      profile: {},
      options: { systems: [FIXTURE_SYSTEM], allow: { licenses: [] }, semver: {} },
    },
    packages: FIXTURE_ATTRS.map((attr) => {
      const pkg = FIXTURE_PACKAGES[attr];
      return {
        attr_path: pkg.pname,
        broken: false,
        derivation: inputs.derivations[attr],
        description: descriptions[attr],
        install_id: pkg.installId,
        license: 'Apache-2.0',
        locked_url: `https://github.com/flox/nixpkgs?rev=${rev}`,
        name: `${pkg.pname}-${pkg.version}`,
        pname: pkg.pname,
        rev,
        rev_count: 1027867,
        rev_date: '2026-07-05T04:06:12Z',
        scrape_date: '2026-07-06T03:13:10.948632Z',
        stabilities: ['staging', 'unstable'],
        unfree: false,
        version: pkg.version,
        outputs_to_install: ['out'],
        outputs: { out: inputs.outputs[attr] },
        system: FIXTURE_SYSTEM,
        group: 'toplevel',
        priority: 5,
      };
    }),
  };
  return new TextEncoder().encode(`${JSON.stringify(lock, null, 2)}\n`);
}
