// The repository itself keeps every dependency rule (tooling/depcheck/src/rules.ts and the
// package.json checks). A failure lists each broken rule and edge.
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
