import { createHash } from 'node:crypto';
import { z } from 'zod';
import { LockfileError, LockfileInvalidError, LockfileVersionUnsupportedError, type LockfileIssue } from './errors.ts';
import { formatPath, toIssues } from './issue-path.ts';
import { manifestSchema } from './manifest-schema.ts';
import { parsePackage } from './package-schema.ts';
import type { Compose, LockedPackage, Lockfile, Manifest } from './types.ts';

/** Inputs larger than this are refused before parsing (the largest real lockfile we know is 220 KB). */
export const MAX_LOCKFILE_BYTES: number = 32 * 1024 * 1024;
const MAX_ISSUES = 50;

const composeSchema = z.looseObject({
  composer: manifestSchema,
  include: z.array(
    z.looseObject({ name: z.string().min(1), descriptor: z.looseObject({}), manifest: manifestSchema }),
  ),
  warnings: z.array(z.unknown()).optional(),
});

/**
 * sha256 of the exact bytes of a published lockfile, as 64 lowercase hex digits.
 * This is the identity behind `owner/name@sha256:<hex>` pins and store roots.
 * A string is hashed as its UTF-8 encoding.
 */
export function lockfileDigest(bytes: string | Uint8Array): string {
  return createHash('sha256').update(bytes).digest('hex');
}

/**
 * Parse and validate a Flox `manifest.lock` (lockfile-version 1).
 *
 * Accepts the file's text, its bytes, or an already-decoded JSON value. For text
 * and bytes the result carries `digest` ({@link lockfileDigest} of the input).
 * Throws only {@link LockfileError}s: `FLOXK8S_LOCKFILE_INVALID` (with `issues`,
 * each with a readable path such as `packages[3].outputs.out`) or
 * `FLOXK8S_LOCKFILE_VERSION_UNSUPPORTED`.
 */
export function parseLockfile(input: string | Uint8Array | unknown): Lockfile {
  try {
    if (typeof input === 'string' || input instanceof Uint8Array) {
      const size = typeof input === 'string' ? Buffer.byteLength(input, 'utf8') : input.byteLength;
      if (size > MAX_LOCKFILE_BYTES) fail('', `expected at most ${MAX_LOCKFILE_BYTES} bytes, found ${size}`);
      const text = typeof input === 'string' ? input : decodeUtf8(input);
      const data = parseJson(text);
      // Only scan the tree when the text could hold such a key at all.
      if (text.includes('__proto__')) rejectProtoKeys(data);
      const lock = validate(data);
      lock.digest = lockfileDigest(input);
      return lock;
    }
    rejectProtoKeys(input);
    return validate(input);
  } catch (error) {
    if (error instanceof LockfileError) throw error;
    // Anything else (a zod or engine surprise) still leaves as our typed error.
    throw new LockfileInvalidError([{ path: '', message: `unreadable lockfile (${String(error).slice(0, 120)})` }], { cause: error });
  }
}

function decodeUtf8(bytes: Uint8Array): string {
  try {
    return new TextDecoder('utf-8', { fatal: true, ignoreBOM: true }).decode(bytes);
  } catch (cause) {
    throw new LockfileInvalidError([{ path: '', message: 'expected UTF-8 text' }], { cause });
  }
}

function parseJson(text: string): unknown {
  try {
    return JSON.parse(text) as unknown;
  } catch (cause) {
    throw new LockfileInvalidError([{ path: '', message: `expected JSON: ${(cause as Error).message}` }], { cause });
  }
}

function validate(data: unknown): Lockfile {
  if (typeof data !== 'object' || data === null || Array.isArray(data)) {
    fail('', `expected a JSON object, found ${data === null ? 'null' : Array.isArray(data) ? 'array' : typeof data}`);
  }
  const raw = data as Record<string, unknown>;
  const version = raw['lockfile-version'];
  if (version === undefined) fail('lockfile-version', 'expected lockfile-version 1, found none');
  if (version !== 1) throw new LockfileVersionUnsupportedError(version);

  const issues: LockfileIssue[] = [];
  const manifest = parseManifest(raw['manifest'], ['manifest'], issues);
  const packages = parsePackages(raw['packages'], issues);
  let compose: Compose | undefined;
  if (raw['compose'] !== undefined && raw['compose'] !== null) {
    const r = composeSchema.safeParse(raw['compose']);
    if (r.success) compose = { composer: r.data.composer, include: r.data.include, warnings: r.data.warnings ?? [] };
    else issues.push(...toIssues(['compose'], r.error.issues));
  }
  if (manifest !== undefined) checkAgainstManifest(manifest, packages, issues);
  if (issues.length > 0 || manifest === undefined) throw new LockfileInvalidError(issues.slice(0, MAX_ISSUES));

  const lock: Lockfile = { lockfileVersion: 1, manifest, packages };
  if (compose !== undefined) lock.compose = compose;
  return lock;
}

function parseManifest(raw: unknown, at: PropertyKey[], issues: LockfileIssue[]): Manifest | undefined {
  if (raw === undefined) {
    issues.push({ path: formatPath(at), message: 'expected the embedded manifest, found none' });
    return undefined;
  }
  const r = manifestSchema.safeParse(raw);
  if (r.success) return r.data;
  issues.push(...toIssues(at, r.error.issues));
  return undefined;
}

function parsePackages(raw: unknown, issues: LockfileIssue[]): LockedPackage[] {
  if (!Array.isArray(raw)) {
    issues.push({ path: 'packages', message: `expected an array, found ${raw === undefined ? 'none' : raw === null ? 'null' : typeof raw}` });
    return [];
  }
  const packages: LockedPackage[] = [];
  const seen = new Set<string>();
  for (let i = 0; i < raw.length && issues.length < MAX_ISSUES; i++) {
    const r = parsePackage(raw[i]);
    if (!r.ok) {
      issues.push(...toIssues(['packages', i], r.issues));
      continue;
    }
    // Flox writes one entry per (install_id, system); a second one would make
    // the choice of store paths ambiguous.
    const key = `${r.value.installId}\u0000${r.value.system}`;
    if (seen.has(key)) {
      issues.push({
        path: formatPath(['packages', i]),
        message: `duplicate entry for install_id ${JSON.stringify(r.value.installId)} on ${r.value.system}`,
      });
    }
    seen.add(key);
    packages.push(r.value);
  }
  return packages;
}

// A schema-version manifest may pick outputs per package (`outputs = [...]`);
// every name it picks must be locked for each system, or there would be
// nothing to install for it.
function checkAgainstManifest(manifest: Manifest, packages: LockedPackage[], issues: LockfileIssue[]): void {
  if (manifest.format.kind !== 'schema-version') return;
  packages.forEach((p, i) => {
    if (p.kind === 'store-path') return;
    const wanted = manifest.install[p.installId]?.outputs;
    if (!Array.isArray(wanted)) return;
    for (const name of wanted) {
      if (!Object.hasOwn(p.outputs, name)) {
        issues.push({
          path: formatPath(['packages', i, 'outputs']),
          message: `output ${JSON.stringify(name)} requested by ${formatPath(['manifest', 'install', p.installId, 'outputs'])} is not locked`,
        });
      }
    }
  });
}

// Flox never writes a `__proto__` key; JSON.parse keeps one as an own
// property, and zod silently drops it from records, so a hostile lockfile
// could hide an entry. Reject it instead. Iterative, so deep nesting cannot
// overflow the stack.
function rejectProtoKeys(root: unknown): void {
  type Node = { value: unknown; key: PropertyKey | undefined; parent: Node | undefined };
  const stack: Node[] = [{ value: root, key: undefined, parent: undefined }];
  while (stack.length > 0) {
    const node = stack.pop()!;
    const { value } = node;
    if (typeof value !== 'object' || value === null) continue;
    if (Array.isArray(value)) {
      for (let i = 0; i < value.length; i++) stack.push({ value: value[i] as unknown, key: i, parent: node });
      continue;
    }
    for (const key of Object.keys(value)) {
      if (key === '__proto__') fail(formatPath(pathOf({ value: undefined, key, parent: node })), 'a "__proto__" key is not allowed');
      stack.push({ value: (value as Record<string, unknown>)[key], key, parent: node });
    }
  }

  function pathOf(node: Node): PropertyKey[] {
    const path: PropertyKey[] = [];
    for (let n: Node | undefined = node; n?.key !== undefined; n = n.parent) path.unshift(n.key);
    return path;
  }
}

function fail(path: string, message: string): never {
  throw new LockfileInvalidError([{ path, message }]);
}
