import { readdirSync, readFileSync, statSync } from 'node:fs';
import { join, relative } from 'node:path';

/** Where an error class declares the code it owns. */
export interface CodeOwner {
  code: string;
  file: string;
  /** The class (or `coded()` constant) that declares it. */
  owner: string;
}

// The ways a class declares its code: `static [override] readonly code = 'FLOXK8S_…'`
// (the @flox-k8s/core style), nar's `coded('FLOXK8S_…', 'Name')` factory, and
// `super('FLOXK8S_…', …)` in a constructor.
const DECLARATIONS = [/readonly code(?:: string)? = '(FLOXK8S_[A-Z0-9_]+)'/g, /coded\('(FLOXK8S_[A-Z0-9_]+)'/g, /super\('(FLOXK8S_[A-Z0-9_]+)'/g];

/** Shipped and tooling sources under `root` (no tests, no generated output). */
export function sourceFiles(root: string): string[] {
  const out: string[] = [];
  const walk = (dir: string): void => {
    for (const name of readdirSync(dir)) {
      if (name === 'node_modules' || name === 'dist' || name === 'bundle' || name === 'fixtures' || name.startsWith('.')) continue;
      const path = join(dir, name);
      if (statSync(path).isDirectory()) walk(path);
      else if (name.endsWith('.ts') && !name.endsWith('.test.ts') && !name.startsWith('test-')) out.push(path);
    }
  };
  for (const top of ['packages', 'apps', 'tooling', 'e2e']) walk(join(root, top));
  return out.sort();
}

/** Every declaration of a `FLOXK8S_…` code by an error class, with the class that makes it. */
export function codeOwners(root: string): CodeOwner[] {
  const owners: CodeOwner[] = [];
  for (const path of sourceFiles(root)) {
    const text = withoutComments(readFileSync(path, 'utf8'));
    for (const pattern of DECLARATIONS) {
      for (const match of text.matchAll(pattern)) {
        const before = text.slice(0, match.index);
        const cls = [...before.matchAll(/(?:class|const) (\w+)/g)].at(-1)?.[1] ?? '(unknown)';
        owners.push({ code: match[1] as string, file: relative(root, path), owner: cls });
      }
    }
  }
  return owners;
}

/** Codes declared by more than one class (a class repeating its own code in `super(Cls.code…)` counts once). */
export function sharedCodes(owners: readonly CodeOwner[]): Map<string, string[]> {
  const byCode = new Map<string, Set<string>>();
  for (const o of owners) {
    if (!byCode.has(o.code)) byCode.set(o.code, new Set());
    byCode.get(o.code)?.add(`${o.file}:${o.owner}`);
  }
  return new Map([...byCode].filter(([, places]) => places.size > 1).map(([code, places]) => [code, [...places].sort()]));
}

/** The source without block comments and whole-line `//` comments (doc examples are not declarations). */
export function withoutComments(text: string): string {
  return text.replace(/\/\*[\s\S]*?\*\//g, '').replace(/^\s*\/\/.*$/gm, '');
}
