// Each rule, shown to fail: a tiny fake repository (packages/, apps/, tooling/, e2e, with
// pnpm's node_modules links) is written to a temp dir, one forbidden edge is added, and
// the check must report exactly that rule. The clean repository reports nothing.
import { mkdirSync, mkdtempSync, rmSync, symlinkSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join, relative } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { checkDependencies } from '../src/check.ts';

const scratch = mkdtempSync(join(tmpdir(), 'flox-depcheck-'));
afterAll(() => rmSync(scratch, { recursive: true, force: true }));

interface FakePackage {
  dir: string;
  dependencies?: string[];
  devDependencies?: string[];
  files: Record<string, string>;
}

const NAMES: Record<string, string> = { 'packages/lib': '@fx/lib', 'packages/base': '@fx/base', 'apps/one': '@fx/one', 'apps/two': '@fx/two', 'tooling/kit': '@fx/kit', e2e: '@fx/e2e' };

/** A clean fake monorepo: an app on two packages, a second app, dev tooling, e2e on the apps. */
function cleanRepo(): FakePackage[] {
  return [
    { dir: 'packages/base', files: { 'src/index.ts': 'export const base = 1;\n' } },
    { dir: 'packages/lib', dependencies: ['@fx/base'], devDependencies: ['@fx/kit'], files: { 'src/index.ts': "import { base } from '@fx/base';\nexport const lib = base + 1;\n", 'src/index.test.ts': "import { kit } from '@fx/kit';\nimport { lib } from './index.ts';\nexport const t = kit + lib;\n" } },
    { dir: 'apps/one', dependencies: ['@fx/lib'], devDependencies: ['@fx/kit'], files: { 'src/index.ts': "import { lib } from '@fx/lib';\nexport const one = lib;\n", 'demo/demo.ts': "import { kit } from '@fx/kit';\nimport { one } from '../src/index.ts';\nexport const demo = kit + one;\n" } },
    { dir: 'apps/two', dependencies: ['@fx/base'], files: { 'src/index.ts': "import { base } from '@fx/base';\nexport const two = base;\n" } },
    { dir: 'tooling/kit', dependencies: ['@fx/base'], files: { 'src/index.ts': "import { base } from '@fx/base';\nexport const kit = base;\n" } },
    { dir: 'e2e', dependencies: ['@fx/one', '@fx/two', '@fx/kit'], files: { 'src/index.ts': 'export const e2e = 1;\n', 'src/all.test.ts': "import { one } from '@fx/one';\nimport { two } from '@fx/two';\nimport { kit } from '@fx/kit';\nexport const all = one + two + kit;\n" } },
  ];
}

let repos = 0;
/** Writes the packages (package.json, files, node_modules links of every declared dependency) and checks them. */
async function check(packages: FakePackage[]): Promise<Array<{ rule: string; from: string; to: string }>> {
  const root = join(scratch, `repo-${repos++}`);
  for (const p of packages) {
    const dir = join(root, p.dir);
    mkdirSync(dir, { recursive: true });
    const deps = (list: string[] | undefined): Record<string, string> => Object.fromEntries((list ?? []).map((d) => [d, 'workspace:^']));
    writeFileSync(
      join(dir, 'package.json'),
      JSON.stringify({ name: NAMES[p.dir], type: 'module', exports: { '.': { '@flox-k8s/source': './src/index.ts' } }, dependencies: deps(p.dependencies), devDependencies: deps(p.devDependencies) }),
    );
    for (const [file, text] of Object.entries(p.files)) {
      mkdirSync(dirname(join(dir, file)), { recursive: true });
      writeFileSync(join(dir, file), text);
    }
  }
  // pnpm links every package that any of its files import (declared or not, as hoisting can).
  for (const p of packages) {
    for (const [dir, name] of Object.entries(NAMES)) {
      if (dir === p.dir) continue;
      const link = join(root, p.dir, 'node_modules', name);
      mkdirSync(dirname(link), { recursive: true });
      symlinkSync(relative(dirname(link), join(root, dir)), link);
    }
  }
  return checkDependencies(root);
}

/** The clean repo with `edit` applied to one package. */
function withEdit(dir: string, edit: (p: FakePackage) => void): FakePackage[] {
  const packages = cleanRepo();
  const p = packages.find((q) => q.dir === dir);
  if (p === undefined) throw new Error(`no fake package ${dir}`);
  edit(p);
  return packages;
}

describe('dependency rules on a fake repository', () => {
  it('a clean repository has no violations', async () => {
    expect(await check(cleanRepo())).toEqual([]);
  });

  it.each([
    [
      'no-app-to-app',
      withEdit('apps/one', (p) => {
        p.dependencies?.push('@fx/two');
        p.files['src/index.ts'] = "import { lib } from '@fx/lib';\nimport { two } from '@fx/two';\nexport const one = lib + two;\n";
      }),
    ],
    [
      'no-import-e2e',
      withEdit('tooling/kit', (p) => {
        p.dependencies?.push('@fx/e2e');
        p.files['src/index.ts'] = "import { base } from '@fx/base';\nimport { e2e } from '@fx/e2e';\nexport const kit = base + e2e;\n";
      }),
    ],
    [
      'no-package-to-app',
      withEdit('packages/lib', (p) => {
        p.dependencies?.push('@fx/two');
        p.files['src/index.ts'] = "import { base } from '@fx/base';\nimport { two } from '@fx/two';\nexport const lib = base + two;\n";
      }),
    ],
    [
      'no-package-to-tooling-at-runtime',
      withEdit('packages/lib', (p) => {
        p.dependencies?.push('@fx/kit');
        p.devDependencies = [];
        p.files['src/index.ts'] = "import { base } from '@fx/base';\nimport { kit } from '@fx/kit';\nexport const lib = base + kit;\n";
      }),
    ],
    [
      'no-app-to-tooling-at-runtime',
      withEdit('apps/one', (p) => {
        p.dependencies?.push('@fx/kit');
        p.devDependencies = [];
        p.files['src/index.ts'] = "import { lib } from '@fx/lib';\nimport { kit } from '@fx/kit';\nexport const one = lib + kit;\n";
      }),
    ],
    [
      'no-cycle',
      withEdit('packages/base', (p) => {
        p.files['src/index.ts'] = "import { other } from './other.ts';\nexport const base = 1;\nexport const again = other;\n";
        // A type-only import closes a cycle too.
        p.files['src/other.ts'] = "import type { base } from './index.ts';\nexport const other: typeof base = 2;\n";
      }),
    ],
    [
      'no-relative-import-across-packages',
      withEdit('apps/one', (p) => {
        p.files['src/index.ts'] = "import { lib } from '@fx/lib';\nimport { base } from '../../../packages/base/src/index.ts';\nexport const one = lib + base;\n";
      }),
    ],
    [
      'no-unresolvable',
      withEdit('apps/two', (p) => {
        p.files['src/index.ts'] = "import { base } from '@fx/base';\nimport { gone } from './gone.ts';\nexport const two = base + gone;\n";
      }),
    ],
    [
      'workspace-dependency-undeclared',
      withEdit('apps/two', (p) => {
        p.files['src/index.ts'] = "import { base } from '@fx/base';\nimport { lib } from '@fx/lib';\nexport const two = base + lib;\n";
      }),
    ],
    [
      'workspace-dependency-dev-only',
      withEdit('packages/lib', (p) => {
        p.devDependencies = ['@fx/kit', '@fx/base'];
        p.dependencies = [];
      }),
    ],
    [
      'workspace-dependency-unused',
      withEdit('apps/two', (p) => {
        p.dependencies?.push('@fx/lib');
      }),
    ],
  ])('%s: the check fails naming the rule', async (rule, packages) => {
    const violations = await check(packages);
    expect(violations.length).toBeGreaterThan(0);
    // Every violation is the one rule the edit breaks (the relative import is also to another package: no other rule fires).
    expect([...new Set(violations.map((v) => v.rule))]).toEqual([rule]);
  });
});
