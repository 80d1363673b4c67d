// The small fixture's Flox `manifest.lock`, naming its four store paths, with `[vars]` and
// an on-activate hook the e2e suites assert on.
import { FIXTURE_ATTRS, FIXTURE_PACKAGES, type FixturePackage } from './fixtures-expression.ts';
import { floxLockfile } from './lockfile-writer.ts';

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
  return floxLockfile({
    system: FIXTURE_SYSTEM,
    vars: { ...FIXTURE_ACTIVATION.vars },
    hookExports: { ...FIXTURE_ACTIVATION.hookExports },
    packages: FIXTURE_ATTRS.map((attr) => ({
      installId: FIXTURE_PACKAGES[attr].installId,
      pname: FIXTURE_PACKAGES[attr].pname,
      version: FIXTURE_PACKAGES[attr].version,
      description: descriptions[attr],
      license: 'Apache-2.0',
      derivation: inputs.derivations[attr],
      outputs: { out: inputs.outputs[attr] },
      outputsToInstall: ['out'],
    })),
  });
}
