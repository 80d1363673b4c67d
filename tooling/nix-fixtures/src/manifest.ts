// `manifest.json` describes a finished cache directory. It is read back on every
// warm call, so it is validated like any outside input.
import { readFile, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { z } from 'zod';
import { FixtureManifestInvalidError } from './errors.ts';

const storePath = z.string().regex(/^\/nix\/store\/[0-9a-df-np-sv-z]{32}-[A-Za-z0-9+\-._?=]+$/, 'expected /nix/store path');
const relative = z.string().regex(/^[^/]/, 'expected a path relative to the fixture directory');
const caches = z.object({ xz: relative, zstd: relative, bzip2: relative, none: relative });

export const fixturesManifestSchema = z.object({
  kind: z.literal('nix-fixtures'),
  key: z.string(),
  builtAt: z.string(),
  buildId: z.string(),
  storePaths: z.object({ busybox: storePath, data: storePath, script: storePath, tree: storePath }),
  derivations: z.object({ busybox: storePath, data: storePath, script: storePath, tree: storePath }),
  closure: z.array(storePath).min(1),
  publicKey: z.string().regex(/^[^:]+:[A-Za-z0-9+/]+={0,2}$/, 'expected name:base64'),
  secretKeyFile: relative,
  caches,
  lockfile: relative,
});
export type FixturesManifest = z.infer<typeof fixturesManifestSchema>;

export const benchManifestSchema = z.object({
  kind: z.literal('nix-bench-fixtures'),
  key: z.string(),
  builtAt: z.string(),
  buildId: z.string(),
  paths: z.number().int().positive(),
  totalBytes: z.number().int().nonnegative(),
  narSize: z.number().int().nonnegative(),
  roots: z.array(storePath).min(1),
  closure: z.array(storePath).min(1),
  publicKey: z.string().regex(/^[^:]+:[A-Za-z0-9+/]+={0,2}$/, 'expected name:base64'),
  secretKeyFile: relative,
  caches: z.object({ xz: relative, zstd: relative }),
});
export type BenchManifest = z.infer<typeof benchManifestSchema>;

const publicKey = z.string().regex(/^[^:]+:[A-Za-z0-9+/]+={0,2}$/, 'expected name:base64');
const count = z.number().int().nonnegative();
const program = z.object({ name: z.string(), argv: z.array(z.string()).min(1), stdout: z.string(), containerOnly: z.literal(true).optional() });
const closureStats = z.object({
  paths: count,
  files: count,
  executables: count,
  symlinks: count,
  directories: count,
  fileBytes: count,
  largestFile: z.object({ path: z.string(), size: count }),
});
const listing = z.object({ pathInfo: relative, sha256: relative, tree: relative });
const timings = z.record(z.string(), z.number().nonnegative());

const header = { key: z.string(), builtAt: z.string(), buildId: z.string() };
// What publishClosure (closure-fixture.ts) records for the large and wide fixtures.
const publishedClosure = {
  roots: z.array(storePath).min(1),
  closure: z.array(storePath).min(1),
  narSize: count,
  stats: closureStats,
  longestChain: z.array(storePath),
  publicKey,
  secretKeyFile: relative,
  caches: z.object({ xz: relative, zstd: relative }),
  lockfile: relative,
  listing,
  timingsMs: timings,
};

export const largeManifestSchema = z.object({
  kind: z.literal('nix-large-fixtures'),
  ...header,
  units: z.record(
    z.string(),
    z.object({
      name: z.string(),
      version: z.string(),
      debs: z.array(z.string()),
      derivation: storePath,
      outputs: z.record(z.string(), storePath),
      installId: z.string().optional(),
    }),
  ),
  interpreter: z.string().startsWith('/nix/store/'),
  ...publishedClosure,
});
export type LargeManifest = z.infer<typeof largeManifestSchema>;

export const wideManifestSchema = z.object({
  kind: z.literal('nix-wide-fixtures'),
  ...header,
  packages: z.record(z.string(), z.object({ name: z.string(), derivation: storePath, out: storePath })),
  programs: z.array(program),
  ...publishedClosure,
});
export type WideManifest = z.infer<typeof wideManifestSchema>;

export const MANIFEST_FILE = 'manifest.json';

/** Reads and validates `dir/manifest.json`; `undefined` when absent, a coded error when malformed. */
export async function readManifest<S extends z.ZodType>(dir: string, schema: S): Promise<z.infer<S> | undefined> {
  const file = join(dir, MANIFEST_FILE);
  let text: string;
  try {
    text = await readFile(file, 'utf8');
  } catch {
    return undefined;
  }
  let json: unknown;
  try {
    json = JSON.parse(text);
  } catch (cause) {
    throw new FixtureManifestInvalidError(file, 'it is not JSON', { cause });
  }
  const parsed = schema.safeParse(json);
  if (!parsed.success) {
    const issue = parsed.error.issues[0];
    const where = issue?.path.map((part) => (typeof part === 'number' ? `[${part}]` : `.${String(part)}`)).join('') ?? '';
    throw new FixtureManifestInvalidError(file, `${where.replace(/^\./, '') || '(root)'}: ${issue?.message ?? 'invalid'}`, {
      cause: parsed.error,
    });
  }
  return parsed.data;
}

export async function writeManifest(dir: string, manifest: FixturesManifest | BenchManifest | LargeManifest | WideManifest): Promise<void> {
  await writeFile(join(dir, MANIFEST_FILE), `${JSON.stringify(manifest, null, 2)}\n`);
}
