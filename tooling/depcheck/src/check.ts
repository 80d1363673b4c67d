import { existsSync, readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { cruise, type ICruiseResult, type IModule } from 'dependency-cruiser';
import { forbidden, isRuntimeFile } from './rules.ts';

/** One broken rule: the rule's name and the edge (or package) it is about. */
export interface Violation {
  rule: string;
  from: string;
  to: string;
}

/** A workspace package: its directory (relative to the root) and its package.json. */
interface WorkspacePackage {
  dir: string;
  name: string;
  dependencies: Set<string>;
  devDependencies: Set<string>;
}

/** Where workspace packages live (pnpm-workspace.yaml's globs, one level deep, and e2e). */
const WORKSPACE_GLOBS = ['packages', 'apps', 'tooling'];

/** The workspace packages under `root`, from their package.json files. */
export function workspacePackages(root: string): WorkspacePackage[] {
  const dirs = [...WORKSPACE_GLOBS.flatMap((group) => (existsSync(join(root, group)) ? readdirSync(join(root, group)).map((d) => `${group}/${d}`) : [])), 'e2e'];
  return dirs
    .filter((dir) => existsSync(join(root, dir, 'package.json')))
    .map((dir) => {
      const json = JSON.parse(readFileSync(join(root, dir, 'package.json'), 'utf8')) as {
        name: string;
        dependencies?: Record<string, string>;
        peerDependencies?: Record<string, string>;
        devDependencies?: Record<string, string>;
      };
      return {
        dir,
        name: json.name,
        dependencies: new Set([...Object.keys(json.dependencies ?? {}), ...Object.keys(json.peerDependencies ?? {})]),
        devDependencies: new Set(Object.keys(json.devDependencies ?? {})),
      };
    });
}

/**
 * Cruises the TypeScript of every workspace package under `root` and returns every
 * broken rule: the forbidden edges of rules.ts, then the package.json checks (an import of
 * a workspace package its package.json does not declare; a declared workspace dependency
 * its shipped code never imports).
 */
export async function checkDependencies(root: string): Promise<Violation[]> {
  const packages = workspacePackages(root);
  const result = await cruise(
    packages.map((p) => p.dir),
    {
      baseDir: root,
      exclude: { path: '(^|/)(node_modules|dist|bundle|coverage|\\.turbo)/|(^|/)test/fixtures/' },
      doNotFollow: { path: 'node_modules' },
      tsPreCompilationDeps: true,
      preserveSymlinks: false,
      enhancedResolveOptions: {
        exportsFields: ['exports'],
        // Workspace packages resolve to their sources, as tests and typecheck see them.
        conditionNames: ['@flox-k8s/source', 'import', 'node', 'default'],
        extensions: ['.ts', '.js', '.mjs', '.json'],
      },
      validate: true,
      ruleSet: { forbidden },
    },
    {},
    {},
  );
  const output = result.output as ICruiseResult;
  const violations: Violation[] = output.summary.violations.map((v) => ({
    rule: v.rule.name,
    from: v.from,
    to: v.cycle === undefined ? v.to : v.cycle.map((c) => c.name).join(' > '),
  }));
  return [...violations, ...packageJsonViolations(packages, output.modules)];
}

function packageJsonViolations(packages: WorkspacePackage[], modules: IModule[]): Violation[] {
  const owner = (path: string): WorkspacePackage | undefined => packages.find((p) => path.startsWith(`${p.dir}/`));
  const byName = new Map(packages.map((p) => [p.name, p]));
  const violations: Violation[] = [];
  const usedAtRuntime = new Map<WorkspacePackage, Set<string>>();
  for (const module of modules) {
    const from = owner(module.source);
    if (from === undefined) continue;
    const runtime = isRuntimeFile(module.source);
    // tooling/ and e2e are never shipped: any of their files counts as using a dependency.
    const counts = runtime || !/^(packages|apps)\//.test(from.dir);
    for (const dependency of module.dependencies) {
      const name = packageNameOf(dependency.module);
      const target = name === undefined ? undefined : byName.get(name);
      if (target === undefined || target === from) continue;
      if (counts) {
        if (!usedAtRuntime.has(from)) usedAtRuntime.set(from, new Set());
        usedAtRuntime.get(from)?.add(target.name);
      }
      const declared = from.dependencies.has(target.name) || (!runtime && from.devDependencies.has(target.name));
      if (!declared) {
        violations.push({
          rule: runtime && from.devDependencies.has(target.name) ? 'workspace-dependency-dev-only' : 'workspace-dependency-undeclared',
          from: module.source,
          to: target.name,
        });
      }
    }
  }
  // A declared runtime dependency on a workspace package that nothing shipped imports (for
  // tooling/ and e2e: nothing at all): it installs and orders the build for nothing.
  for (const p of packages) {
    for (const dependency of p.dependencies) {
      if (!byName.has(dependency)) continue;
      if (!(usedAtRuntime.get(p)?.has(dependency) ?? false)) violations.push({ rule: 'workspace-dependency-unused', from: `${p.dir}/package.json`, to: dependency });
    }
  }
  return violations;
}

/** `@scope/name` or `name` of a bare import specifier (`@scope/name/sub` → `@scope/name`), else undefined. */
function packageNameOf(specifier: string): string | undefined {
  if (specifier.startsWith('.') || specifier.startsWith('/') || specifier.startsWith('node:')) return undefined;
  const parts = specifier.split('/');
  return specifier.startsWith('@') ? parts.slice(0, 2).join('/') : parts[0];
}
