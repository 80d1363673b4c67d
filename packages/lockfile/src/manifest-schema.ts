// zod schema of the manifest Flox embeds in a lockfile, in both forms Flox has
// written: the original `version = 1` and `schema-version = "1.10.0"`…`"1.15.x"`.
// Keys Flox adds later are tolerated (dropped, except inside [build],
// [include] and [containerize], which are kept as written); keys we use must
// have the right type.
import { z } from 'zod';
import type { InstallDescriptor, Manifest, ManifestFormat, ServiceDescriptor } from './types.ts';

/** The manifest `schema-version`s whose semantics this package implements (1.10 … 1.15). */
export const SUPPORTED_SCHEMA_VERSIONS: RegExp = /^1\.1[0-5]\.\d+$/;

// A Nix system double: `<cpu>-<os>` in the lowercase ASCII Nix uses.
const systemSchema = z.string().regex(/^[a-z0-9_]+-[a-z0-9_]+$/, { error: 'expected a Nix system such as x86_64-linux' });

// [vars] and service vars become process environment variables, so their names
// must be ones an OCI runtime and a POSIX shell accept.
const envNameSchema = z.string().regex(/^[A-Za-z_][A-Za-z0-9_]*$/, { error: 'expected an environment variable name' });
const varsSchema = z.record(envNameSchema, z.string());

const outputsSelectionSchema = z.union([z.literal('all'), z.array(z.string().min(1))], {
  error: 'expected "all" or a list of output names',
});

const installDescriptorSchema = z
  .object({
    'pkg-path': z.string().optional(),
    flake: z.string().optional(),
    'store-path': z.string().optional(),
    outputs: outputsSelectionSchema.optional(),
    systems: z.array(systemSchema).optional(),
    priority: z.int().nonnegative().optional(),
    'pkg-group': z.string().optional(),
    version: z.string().optional(),
  })
  .transform((d): InstallDescriptor => {
    const out: InstallDescriptor = {};
    if (d['pkg-path'] !== undefined) out.pkgPath = d['pkg-path'];
    if (d.flake !== undefined) out.flake = d.flake;
    if (d['store-path'] !== undefined) out.storePath = d['store-path'];
    if (d.outputs !== undefined) out.outputs = d.outputs;
    if (d.systems !== undefined) out.systems = d.systems;
    if (d.priority !== undefined) out.priority = d.priority;
    if (d['pkg-group'] !== undefined) out.pkgGroup = d['pkg-group'];
    if (d.version !== undefined) out.version = d.version;
    return out;
  });

const serviceSchema = z
  .object({
    command: z.string(),
    vars: varsSchema.optional(),
    'is-daemon': z.boolean().optional(),
    shutdown: z.object({ command: z.string().optional() }).optional(),
    systems: z.array(systemSchema).optional(),
  })
  .transform((s): ServiceDescriptor => {
    const out: ServiceDescriptor = { command: s.command };
    if (s.vars !== undefined) out.vars = s.vars;
    if (s['is-daemon'] !== undefined) out.isDaemon = s['is-daemon'];
    if (s.shutdown !== undefined) out.shutdown = s.shutdown.command === undefined ? {} : { command: s.shutdown.command };
    if (s.systems !== undefined) out.systems = s.systems;
    return out;
  });

const scriptSchema = z.string().nullish();

const manifestObjectSchema = z.object({
  version: z.unknown().optional(),
  'schema-version': z.unknown().optional(),
  install: z.record(z.string().min(1), installDescriptorSchema).optional(),
  vars: varsSchema.optional(),
  hook: z.object({ 'on-activate': scriptSchema }).nullish(),
  profile: z
    .object({ common: scriptSchema, bash: scriptSchema, zsh: scriptSchema, fish: scriptSchema, tcsh: scriptSchema })
    .nullish(),
  options: z
    .object({
      systems: z.array(systemSchema).optional(),
      activate: z.object({ mode: z.enum(['dev', 'run']).optional() }).optional(),
    })
    .nullish(),
  services: z.record(z.string().min(1), serviceSchema).nullish(),
  build: z.record(z.string().min(1), z.looseObject({ command: z.string().optional() })).nullish(),
  include: z.looseObject({ environments: z.array(z.looseObject({})).optional() }).nullish(),
  containerize: z.looseObject({}).nullish(),
});

/** The embedded manifest, validated and normalised to {@link Manifest}. */
export const manifestSchema: z.ZodType<Manifest> = manifestObjectSchema
  .superRefine((m, ctx) => {
    const hasVersion = m.version !== undefined;
    const hasSchemaVersion = m['schema-version'] !== undefined;
    if (hasVersion && hasSchemaVersion) {
      ctx.addIssue({ code: 'custom', path: ['schema-version'], message: 'expected either version or schema-version, found both' });
    } else if (hasVersion) {
      if (m.version !== 1) ctx.addIssue({ code: 'custom', path: ['version'], message: `expected manifest version 1, found ${show(m.version)}` });
    } else if (hasSchemaVersion) {
      const sv = m['schema-version'];
      if (typeof sv !== 'string' || !SUPPORTED_SCHEMA_VERSIONS.test(sv)) {
        ctx.addIssue({
          code: 'custom',
          path: ['schema-version'],
          message: `expected a manifest schema-version from 1.10.0 to 1.15.x, found ${show(sv)}`,
        });
      }
    } else {
      ctx.addIssue({ code: 'custom', path: ['version'], message: 'expected manifest version = 1 or a schema-version' });
    }
  })
  .transform((m): Manifest => {
    const format: ManifestFormat =
      m.version === 1 ? { kind: 'version', version: 1 } : { kind: 'schema-version', schemaVersion: String(m['schema-version']) };
    const hook: Manifest['hook'] = {};
    if (typeof m.hook?.['on-activate'] === 'string') hook.onActivate = m.hook['on-activate'];
    const profile: Manifest['profile'] = {};
    for (const shell of ['common', 'bash', 'zsh', 'fish', 'tcsh'] as const) {
      const script = m.profile?.[shell];
      if (typeof script === 'string') profile[shell] = script;
    }
    const options: Manifest['options'] = {};
    if (m.options?.systems !== undefined) options.systems = m.options.systems;
    if (m.options?.activate?.mode !== undefined) options.activateMode = m.options.activate.mode;
    const manifest: Manifest = {
      format,
      install: m.install ?? {},
      vars: m.vars ?? {},
      hook,
      profile,
      options,
      services: m.services ?? {},
      build: m.build ?? {},
    };
    if (m.include !== undefined && m.include !== null) manifest.include = m.include;
    if (m.containerize !== undefined && m.containerize !== null) manifest.containerize = m.containerize;
    return manifest;
  });

function show(value: unknown): string {
  const text = JSON.stringify(value) ?? String(value);
  return text.length > 40 ? `${text.slice(0, 40)}…` : text;
}
