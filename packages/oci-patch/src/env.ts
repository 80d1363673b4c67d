import { prependSearchPath, startsWithSearchPath } from '@flox-k8s/core';
import type { PlanVariable } from './plan.ts';

// `base` says where the value before prefixing comes from: the container (`keep`),
// the plan (`set`) or the container with a plan fallback (`default`).
interface Rule {
  base: 'keep' | 'set' | 'default';
  value: string;
  prefix: string | undefined;
}

/**
 * Folds the ordered plan into one rule per variable with the same result as applying
 * the entries one by one, but idempotent: two prepends of PATH become one prefix `B:A`,
 * which a second application recognises and leaves alone.
 */
function foldRules(plan: readonly PlanVariable[]): Map<string, Rule> {
  const rules = new Map<string, Rule>();
  for (const v of plan) {
    const prev = rules.get(v.name);
    if (v.merge === 'set') {
      rules.set(v.name, { base: 'set', value: v.value, prefix: undefined });
    } else if (v.merge === 'default') {
      // After any earlier entry the variable is already set, so a default is moot.
      if (prev === undefined) rules.set(v.name, { base: 'default', value: v.value, prefix: undefined });
    } else if (prev === undefined) {
      rules.set(v.name, { base: 'keep', value: '', prefix: v.value });
    } else {
      prev.prefix = prev.prefix === undefined ? v.value : prependSearchPath(v.value, prev.prefix);
    }
  }
  return rules;
}

function nameOf(entry: string): string {
  return entry.slice(0, entry.indexOf('='));
}

/**
 * Merges the activation environment into a container's `NAME=value` list.
 *
 * Precedence, per variable:
 * - `prepend` (PATH-like): the activation value comes first, then `:` and whatever the
 *   image/pod already set (`@flox-k8s/core`'s prependSearchPath: no `::` after Flox's
 *   MANPATH); a value that already starts with it is left alone.
 * - `set` (FLOX_ENV, …): always the activation value.
 * - `default` (`[vars]`): only when the container (image or pod) does not set the
 *   variable, so pod-set variables win over `[vars]`.
 *
 * Variables the plan does not name keep their position and bytes; a variable it does
 * name keeps the position of its first occurrence (later duplicates are dropped; the
 * last one is the value containerd meant); new variables are appended in plan order.
 */
export function mergeEnvironment(existing: readonly string[], plan: readonly PlanVariable[]): string[] {
  const rules = foldRules(plan);
  if (rules.size === 0) return [...existing];

  const current = new Map<string, string>();
  for (const entry of existing) {
    const name = nameOf(entry);
    if (rules.has(name)) current.set(name, entry.slice(name.length + 1));
  }

  const out: string[] = [];
  const written = new Set<string>();
  for (const entry of existing) {
    const name = nameOf(entry);
    const rule = rules.get(name);
    if (rule === undefined) {
      out.push(entry);
      continue;
    }
    if (written.has(name)) continue;
    written.add(name);
    out.push(`${name}=${apply(rule, current.get(name))}`);
  }
  for (const [name, rule] of rules) {
    if (!written.has(name)) out.push(`${name}=${apply(rule, undefined)}`);
  }
  return out;
}

function apply(rule: Rule, current: string | undefined): string {
  const base = rule.base === 'set' ? rule.value : rule.base === 'default' ? (current ?? rule.value) : current;
  const prefix = rule.prefix;
  if (prefix === undefined) return base ?? '';
  if (base === undefined || base === '') return prefix;
  if (startsWithSearchPath(base, prefix)) return base;
  return prependSearchPath(prefix, base);
}
