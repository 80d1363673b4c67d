import { FixturePlanInvalidError } from './errors.ts';

/** Units ordered so that every unit comes after the units it refers to; a reference cycle is a coded error. */
export function orderUnits<U extends { key: string; refs: string[] }>(units: readonly U[]): U[] {
  const byKey = new Map(units.map((unit) => [unit.key, unit]));
  const state = new Map<string, 'visiting' | 'done'>();
  const out: U[] = [];
  const visit = (unit: U, path: string[]): void => {
    if (state.get(unit.key) === 'done') return;
    if (state.get(unit.key) === 'visiting') {
      throw new FixturePlanInvalidError(`the store paths refer to each other in a cycle (${[...path, unit.key].join(' -> ')})`, 'Nix cannot build a cycle; leave one package out.');
    }
    state.set(unit.key, 'visiting');
    for (const ref of unit.refs) {
      const dep = byKey.get(ref.split('/')[0] ?? '');
      if (dep === undefined) throw new FixturePlanInvalidError(`${unit.key} refers to ${ref}, which is not planned`, 'This is a planner bug.');
      visit(dep, [...path, unit.key]);
    }
    state.set(unit.key, 'done');
    out.push(unit);
  };
  for (const unit of [...units].sort((a, b) => a.key.localeCompare(b.key))) visit(unit, []);
  return out;
}

/** True when unit `from` refers, directly or through other units, to unit `to`. */
export function reaches(units: ReadonlyMap<string, { refs: string[] }>, from: string, to: string): boolean {
  const seen = new Set<string>();
  const stack = [from];
  for (let key = stack.pop(); key !== undefined; key = stack.pop()) {
    if (key === to) return true;
    if (seen.has(key)) continue;
    seen.add(key);
    for (const ref of units.get(key)?.refs ?? []) stack.push(ref.split('/')[0] ?? '');
  }
  return false;
}
