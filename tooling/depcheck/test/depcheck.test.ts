// The repository itself keeps every dependency rule (tooling/depcheck/src/rules.ts and the
// package.json checks). A failure lists each broken rule and edge.
import { existsSync, readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';
import { checkDependencies } from '../src/check.ts';

const root = fileURLToPath(new URL('../../../', import.meta.url));

describe('the repository', () => {
  it('keeps every dependency rule', async () => {
    const violations = await checkDependencies(root);
    expect(violations.map((v) => `${v.rule}: ${v.from} -> ${v.to}`)).toEqual([]);
  });
});

describe('every workspace package', () => {
  it('states the Node the repository really needs (engines.node equal to the root package.json, >= 22.18 for type stripping)', () => {
    const read = (file: string): { name?: string; engines?: { node?: string } } => JSON.parse(readFileSync(file, 'utf8'));
    const want = read(join(root, 'package.json')).engines?.node;
    expect(want).toBe('>=22.18.0');
    const dirs = ['packages', 'apps', 'tooling'].flatMap((top) =>
      readdirSync(join(root, top), { withFileTypes: true }).filter((d) => d.isDirectory()).map((d) => join(root, top, d.name)),
    );
    const manifests = [...dirs, join(root, 'e2e')].map((dir) => join(dir, 'package.json')).filter((file) => existsSync(file));
    expect(manifests.length).toBeGreaterThan(10);
    const wrong = manifests.map((file) => ({ file, node: read(file).engines?.node })).filter((m) => m.node !== want);
    expect(wrong).toEqual([]);
  });
});
