// Variants of the large fixture: the same plan with some units' derivations salted, so those
// units (and only those: nothing refers to them) get other store paths, while every other unit
// builds to the very same store paths as the large fixture itself. `shared90` is a second
// environment sharing ~90% of *large*'s paths, for the "second environment" benchmark.
import { statSync } from 'node:fs';
import type { PlannedUnit } from './large-plan.ts';

export type LargeVariant = 'shared90';

/** Part of a variant's cache key: bump it when `variantPlan` picks other units. */
export const LARGE_VARIANT_VERSION = 2;

/** Share of the closure's paths the `shared90` variant moves to other store paths. */
const SHARED90_CHANGED = 0.1;

const plannedBytes = (unit: PlannedUnit): number => unit.files.reduce((n, f) => n + (f.src === undefined ? 0 : statSync(f.src).size), 0);

/** `unit/output` of every output in the closure of the installed units (all their outputs are roots). */
function closureOutputs(units: readonly PlannedUnit[]): Set<string> {
  const byKey = new Map(units.map((u) => [u.key, u]));
  const reached = new Set<string>();
  const queue = units.filter((u) => u.installId !== undefined).flatMap((u) => u.outputs.map((o) => `${u.key}/${o}`));
  for (let next = queue.pop(); next !== undefined; next = queue.pop()) {
    if (reached.has(next)) continue;
    reached.add(next);
    // A unit's refs are those of all its outputs together: an over-approximation per output.
    for (const ref of byKey.get(next.split('/')[0]!)?.refs ?? []) queue.push(ref);
  }
  return reached;
}

/**
 * The plan of `variant`: salts installed units nobody refers to (so no other unit's path
 * changes), in key order, each one only if its outputs still fit in ~10% of the closure's paths.
 * The unit with the most bytes is left alone: the changed tenth should have the size spread of
 * a typical tenth, not carry the 114 MB Node binary.
 */
export function variantPlan(units: readonly PlannedUnit[], variant: LargeVariant): Array<PlannedUnit & { salt?: string }> {
  const referenced = new Set(units.flatMap((u) => u.refs.map((r) => r.split('/')[0]!)));
  const candidates = units.filter((u) => u.installId !== undefined && !referenced.has(u.key)).sort((a, b) => (a.key < b.key ? -1 : 1));
  const largest = candidates.reduce<{ key: string; bytes: number } | undefined>((best, u) => {
    const bytes = plannedBytes(u);
    return best === undefined || bytes > best.bytes ? { key: u.key, bytes } : best;
  }, undefined);
  const target = Math.round(closureOutputs(units).size * SHARED90_CHANGED);
  const salted = new Set<string>();
  let outputs = 0;
  for (const u of candidates) {
    if (u.key === largest?.key || outputs + u.outputs.length > target) continue;
    salted.add(u.key);
    outputs += u.outputs.length;
  }
  return units.map((u) => (salted.has(u.key) ? { ...u, salt: variant } : { ...u }));
}
