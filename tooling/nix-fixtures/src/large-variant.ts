// Variants of the large fixture: the same plan with some units' derivations salted, so those
// units (and only those: nothing refers to them) get other store paths, while every other unit
// builds to the very same store paths as the large fixture itself. `shared90` is a second
// environment sharing ~90% of *large*'s paths, for the "second environment" benchmark.
import { statSync } from 'node:fs';
import type { PlannedUnit } from './large-plan.ts';

export type LargeVariant = 'shared90';

/** Share of the plan's outputs the `shared90` variant moves to other store paths. */
const SHARED90_CHANGED = 0.1;

const plannedBytes = (unit: PlannedUnit): number => unit.files.reduce((n, f) => n + (f.src === undefined ? 0 : statSync(f.src).size), 0);

/**
 * The plan of `variant`: salts installed units nobody refers to (so no other unit's path
 * changes), in key order, until ~10% of all outputs are salted. The unit with the most bytes
 * is left alone: the changed tenth should have the size spread of a typical tenth, not carry
 * the 114 MB Node binary.
 */
export function variantPlan(units: readonly PlannedUnit[], variant: LargeVariant): Array<PlannedUnit & { salt?: string }> {
  const referenced = new Set(units.flatMap((u) => u.refs.map((r) => r.split('/')[0]!)));
  const candidates = units.filter((u) => u.installId !== undefined && !referenced.has(u.key)).sort((a, b) => (a.key < b.key ? -1 : 1));
  const largest = candidates.reduce<{ key: string; bytes: number } | undefined>((best, u) => {
    const bytes = plannedBytes(u);
    return best === undefined || bytes > best.bytes ? { key: u.key, bytes } : best;
  }, undefined);
  const target = Math.round(units.reduce((n, u) => n + u.outputs.length, 0) * SHARED90_CHANGED);
  const salted = new Set<string>();
  let outputs = 0;
  for (const u of candidates) {
    if (outputs >= target) break;
    if (u.key === largest?.key) continue;
    salted.add(u.key);
    outputs += u.outputs.length;
  }
  return units.map((u) => (salted.has(u.key) ? { ...u, salt: variant } : { ...u }));
}
