// zod schemas of the three kinds of `packages[]` entry Flox writes
// (flox-manifest `lockfile/{catalog,flake,store_path}.rs`):
// - catalog: snake_case keys (`attr_path`, `outputs_to_install`, …);
// - flake: kebab-case keys (`locked-url`, `outputs-to-install`, …);
// - store-path: `{ install_id, store_path, system, priority }`.
import { z } from 'zod';
import { STORE_PATH_PATTERN, storePathProblem } from '@flox-k8s/core';
import type { CatalogPackage, FlakePackage, LockedPackage, StorePathPackage } from './types.ts';

// One regex keeps the hot path fast (184 entries in a 220 KB lockfile); the
// detailed reason is worked out only for the paths that fail (see explain()).
const STORE_PATH_MESSAGE = 'expected /nix/store path';
const storePathSchema = z.string().regex(STORE_PATH_PATTERN, { error: STORE_PATH_MESSAGE });

const systemSchema = z.string().regex(/^[a-z0-9_]+-[a-z0-9_]+$/, { error: 'expected a Nix system such as x86_64-linux' });
const installIdSchema = z.string().min(1, { error: 'expected a non-empty install_id' });
const prioritySchema = z.int({ error: 'expected a non-negative integer priority' }).nonnegative();
const outputNameSchema = z.string().regex(/^[A-Za-z0-9_+\-.]+$/, { error: 'expected an output name' });
const outputsSchema = z.record(outputNameSchema, storePathSchema);
const outputListSchema = z.array(z.string().min(1)).nullish();
const descriptionSchema = z.string().nullish();
// The catalog writes one string (`"MIT"`, or `"[ MIT, Apache-2.0 ]"` for a list); flakes write an array.
const licenseSchema = z.union([z.string(), z.array(z.string())]).nullish();

const catalogSchema = z.object({
  install_id: installIdSchema,
  system: systemSchema,
  priority: prioritySchema,
  outputs: outputsSchema,
  outputs_to_install: outputListSchema,
  attr_path: z.string().optional(),
  name: z.string().optional(),
  pname: z.string().optional(),
  version: z.string().nullish(),
  derivation: storePathSchema.optional(),
  locked_url: z.string().optional(),
  group: z.string().optional(),
  description: descriptionSchema,
  license: licenseSchema,
});

const flakeSchema = z.object({
  install_id: installIdSchema,
  system: systemSchema,
  priority: prioritySchema,
  outputs: outputsSchema,
  'outputs-to-install': outputListSchema,
  'locked-url': z.string().min(1),
  'locked-flake-attr-path': z.string().optional(),
  name: z.string().optional(),
  pname: z.string().nullish(),
  version: z.string().nullish(),
  derivation: storePathSchema.optional(),
  description: descriptionSchema,
  licenses: licenseSchema,
});

const storePathEntrySchema = z.object({
  install_id: installIdSchema,
  system: systemSchema,
  priority: prioritySchema,
  store_path: storePathSchema,
});

/** Which entry kind a raw `packages[]` item is, by the keys only that kind has. */
export function packageKind(raw: Record<string, unknown>): LockedPackage['kind'] {
  if ('store_path' in raw) return 'store-path';
  if ('locked-url' in raw || 'outputs-to-install' in raw || 'locked-flake-attr-path' in raw) return 'flake';
  return 'catalog';
}

/**
 * nixpkgs `meta.license` as a list of SPDX ids or names. The catalog renders a Nix
 * list as `"[ MIT, Apache-2.0 ]"`; a single license is the bare id.
 */
export function splitLicenses(value: string | readonly string[]): string[] {
  const items = typeof value === 'string' ? listItems(value.trim()) : value;
  return unique(items.map((item) => item.trim()).filter((item) => item !== ''));
}

function listItems(text: string): string[] {
  return text.startsWith('[') && text.endsWith(']') ? text.slice(1, -1).split(',') : [text];
}

// Flox's catalog server sometimes repeats an output in outputs_to_install
// (`["bin","bin","man","man"]`); Flox de-duplicates runs (PackageOutputs::
// deduped_outputs_to_install). We drop every repeat, which is the same for runs.
function unique(list: readonly string[]): string[] {
  return [...new Set(list)];
}

type Issue = { path: PropertyKey[]; message: string };

// Replace the terse store-path message with the precise reason.
function explain(raw: unknown, issues: readonly Issue[]): Issue[] {
  return issues.map((issue) => {
    if (issue.message !== STORE_PATH_MESSAGE) return issue;
    let value: unknown = raw;
    for (const key of issue.path) value = (value as Record<PropertyKey, unknown> | undefined)?.[key];
    const problem = typeof value === 'string' ? storePathProblem(value) : undefined;
    return problem === undefined ? issue : { path: issue.path, message: problem };
  });
}

/** Parse one `packages[]` item; on failure return zod's issues (paths relative to the item). */
export function parsePackage(raw: unknown): { ok: true; value: LockedPackage } | { ok: false; issues: Issue[] } {
  if (typeof raw !== 'object' || raw === null || Array.isArray(raw)) {
    return { ok: false, issues: [{ path: [], message: `expected a package object, found ${kindOf(raw)}` }] };
  }
  const kind = packageKind(raw as Record<string, unknown>);
  if (kind === 'store-path') {
    const r = storePathEntrySchema.safeParse(raw);
    if (!r.success) return { ok: false, issues: explain(raw, r.error.issues) };
    const p: StorePathPackage = {
      kind,
      installId: r.data.install_id,
      system: r.data.system,
      priority: r.data.priority,
      storePath: r.data.store_path,
    };
    return { ok: true, value: p };
  }
  if (kind === 'flake') {
    const r = flakeSchema.safeParse(raw);
    if (!r.success) return { ok: false, issues: explain(raw, r.error.issues) };
    const d = r.data;
    const p: FlakePackage = { kind, installId: d.install_id, system: d.system, priority: d.priority, lockedUrl: d['locked-url'], outputs: d.outputs };
    const oti = d['outputs-to-install'];
    if (oti !== undefined && oti !== null) p.outputsToInstall = unique(oti);
    if (d['locked-flake-attr-path'] !== undefined) p.lockedFlakeAttrPath = d['locked-flake-attr-path'];
    if (d.name !== undefined) p.name = d.name;
    if (d.pname !== undefined && d.pname !== null) p.pname = d.pname;
    if (d.version !== undefined && d.version !== null) p.version = d.version;
    if (d.derivation !== undefined) p.derivation = d.derivation;
    addMeta(p, d.description, d.licenses);
    return checkOutputsToInstall(p, oti, 'outputs-to-install');
  }
  const r = catalogSchema.safeParse(raw);
  if (!r.success) return { ok: false, issues: explain(raw, r.error.issues) };
  const d = r.data;
  const p: CatalogPackage = { kind, installId: d.install_id, system: d.system, priority: d.priority, outputs: d.outputs };
  if (d.outputs_to_install !== undefined && d.outputs_to_install !== null) p.outputsToInstall = unique(d.outputs_to_install);
  if (d.attr_path !== undefined) p.attrPath = d.attr_path;
  if (d.name !== undefined) p.name = d.name;
  if (d.pname !== undefined) p.pname = d.pname;
  if (d.version !== undefined && d.version !== null) p.version = d.version;
  if (d.derivation !== undefined) p.derivation = d.derivation;
  if (d.locked_url !== undefined) p.lockedUrl = d.locked_url;
  if (d.group !== undefined) p.group = d.group;
  addMeta(p, d.description, d.license);
  return checkOutputsToInstall(p, d.outputs_to_install, 'outputs_to_install');
}

function addMeta(p: CatalogPackage | FlakePackage, description: string | null | undefined, license: string | string[] | null | undefined): void {
  if (description !== undefined && description !== null && description !== '') p.description = description;
  if (license === undefined || license === null) return;
  const licenses = splitLicenses(license);
  if (licenses.length > 0) p.licenses = licenses;
}

// Every output the lockfile says to install must be one the entry locks,
// otherwise there is no store path to fetch for it.
function checkOutputsToInstall(
  p: CatalogPackage | FlakePackage,
  listed: readonly string[] | null | undefined,
  key: string,
): { ok: true; value: LockedPackage } | { ok: false; issues: Issue[] } {
  const issues: Issue[] = [];
  if (Object.keys(p.outputs).length === 0) issues.push({ path: ['outputs'], message: 'expected at least one output' });
  listed?.forEach((name, i) => {
    if (!Object.hasOwn(p.outputs, name)) issues.push({ path: [key, i], message: `output ${JSON.stringify(name)} is not in outputs` });
  });
  return issues.length === 0 ? { ok: true, value: p } : { ok: false, issues };
}

function kindOf(value: unknown): string {
  if (value === null) return 'null';
  if (Array.isArray(value)) return 'array';
  return typeof value;
}
