import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import type { PlannedUnit } from './large-plan.ts';
import { variantPlan } from './large-variant.ts';

const dir = mkdtempSync(join(tmpdir(), 'large-variant-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

function unit(key: string, outputs: PlannedUnit['outputs'], refs: string[], bytes: number, installed = true): PlannedUnit {
  const src = join(dir, key);
  writeFileSync(src, Buffer.alloc(bytes));
  return { key, name: key, version: '1', debs: [key], outputs, refs, files: [{ output: outputs[0]!, rel: key, src }], ...(installed ? { installId: key } : {}) } as PlannedUnit;
}

describe('variantPlan shared90', () => {
  it('salts only installed units nobody refers to, never the largest, within 10% of the closure paths', () => {
    // 40 closure paths: glibc (referenced), 18 leaf apps of 2 outputs, a big leaf (first in key order), an unreferenced library not installed.
    const units = [
      unit('glibc', ['out'], [], 10),
      ...Array.from({ length: 18 }, (_, i) => unit(`app${String(i).padStart(2, '0')}`, ['bin', 'out'], ['glibc/out'], 100)),
      unit('aabig', ['out'], ['glibc/out'], 5000),
      unit('orphan', ['out', 'doc'], [], 100, false),
    ];
    const plan = variantPlan(units, 'shared90');
    const salted = plan.filter((u) => u.salt !== undefined).map((u) => u.key);
    // Closure: glibc 1 + 36 app outputs + aabig 1 = 38 paths, 10% → 4 paths → the first two apps.
    expect(salted).toEqual(['app00', 'app01']);
    expect(plan.find((u) => u.key === 'app00')!.salt).toBe('shared90');
    // Everything else is the large plan unchanged.
    expect(plan.filter((u) => u.salt === undefined).map(({ key }) => key)).toEqual(units.map((u) => u.key).filter((k) => !salted.includes(k)));
  });
});
