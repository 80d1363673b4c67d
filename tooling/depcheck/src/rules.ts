// The monorepo's dependency rules, as dependency-cruiser `forbidden` rules. Paths are
// relative to the repository root. See README.md for why each rule exists.
import type { IForbiddenRuleType } from 'dependency-cruiser';

/** A workspace package's directory: `packages/x`, `apps/x`, `tooling/x` or `e2e` (group 1). */
const PACKAGE_DIR = '^((?:packages|apps|tooling)/[^/]+|e2e)/';

/**
 * Files a package ships and runs: its `src/` without tests and test helpers (`test-*.ts`,
 * which the build leaves out too). Benchmarks, scripts and tests may use dev tooling.
 */
const RUNTIME = '^(?:packages|apps)/[^/]+/src/';
const NOT_RUNTIME = String.raw`\.test\.ts$|/test-[^/]+\.ts$`;

export const forbidden: IForbiddenRuleType[] = [
  {
    name: 'no-app-to-app',
    comment: 'An app never imports another app: what two apps share is a package (packages/) or dev tooling (tooling/).',
    severity: 'error',
    from: { path: '^apps/([^/]+)/' },
    to: { path: '^apps/', pathNot: '^apps/$1/' },
  },
  {
    name: 'no-import-e2e',
    comment: 'Nothing imports e2e/: it is the end of the line. Shared test code lives in tooling/.',
    severity: 'error',
    from: { pathNot: '^e2e/' },
    to: { path: '^e2e/' },
  },
  {
    name: 'no-package-to-app',
    comment: 'Packages are libraries: they never import an app.',
    severity: 'error',
    from: { path: '^packages/' },
    to: { path: '^apps/' },
  },
  {
    name: 'no-package-to-tooling-at-runtime',
    comment: "A package's shipped code never imports tooling/ (private, never published); its tests and benchmarks may.",
    severity: 'error',
    from: { path: '^packages/[^/]+/src/', pathNot: NOT_RUNTIME },
    to: { path: '^tooling/' },
  },
  {
    name: 'no-app-to-tooling-at-runtime',
    comment: "An app's shipped code (src/) never imports tooling/; its demo, scripts, benchmarks and tests may.",
    severity: 'error',
    from: { path: '^apps/[^/]+/src/', pathNot: NOT_RUNTIME },
    to: { path: '^tooling/' },
  },
  {
    name: 'no-cycle',
    comment: 'Modules depend one way (a type-only import counts too: it is a design cycle even when erased).',
    severity: 'error',
    from: {},
    to: { circular: true },
  },
  {
    name: 'no-relative-import-across-packages',
    comment: 'Another workspace package is imported by its name (declared in package.json), never by a ../../ path turbo and pnpm cannot see.',
    severity: 'error',
    from: { path: PACKAGE_DIR },
    to: { dependencyTypes: ['local'], pathNot: '^$1/' },
  },
  {
    name: 'no-unresolvable',
    comment: 'Every import resolves (a typo or a missing dependency fails here, not at run time).',
    severity: 'error',
    from: {},
    to: { couldNotResolve: true },
  },
];

/** Runtime files (for the package.json checks): `src/` of packages and apps, tests excluded. */
export function isRuntimeFile(path: string): boolean {
  return new RegExp(RUNTIME).test(path) && !new RegExp(NOT_RUNTIME).test(path);
}
