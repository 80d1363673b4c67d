import { z } from 'zod';
import { OciSpecInvalidError } from './errors.ts';
import { firstIssue } from './issues.ts';

/**
 * One mount of an OCI runtime spec (1.0–1.2). Only the fields we read or write are
 * typed; every other field is kept verbatim.
 */
export interface Mount {
  destination: string;
  source?: string;
  type?: string;
  options?: string[];
  [key: string]: unknown;
}

/** `process` of a spec, and the document `runc exec --process` reads. */
export interface Process {
  args?: string[];
  env?: string[];
  [key: string]: unknown;
}

/** An OCI runtime spec (`config.json`); unknown fields are preserved. */
export interface Spec {
  ociVersion: string;
  process?: Process;
  mounts?: Mount[];
  annotations?: Record<string, string>;
  [key: string]: unknown;
}

// runc refuses an environment entry without '=' (libcontainer prepareEnv), so do we.
const envEntry = z.string().check(
  z.refine((s) => s.indexOf('=') > 0 && !s.includes('\0'), { message: 'expected NAME=value with a non-empty NAME' }),
);

const absolutePath = z.string().check(z.refine((s) => s.startsWith('/'), { message: 'expected an absolute path' }));

/** zod schema of the parts of a mount we read or write (loose: other fields pass). */
export const mountSchema: z.ZodType<Mount> = z.looseObject({
  destination: absolutePath,
  source: z.optional(z.string()),
  type: z.optional(z.string()),
  options: z.optional(z.array(z.string())),
});

/** zod schema of a spec's `process` (loose). */
export const processSchema: z.ZodType<Process> = z.looseObject({
  args: z.optional(z.array(z.string())),
  env: z.optional(z.array(envEntry)),
});

/** zod schema of the parts of an OCI runtime spec we read or write (loose). */
export const specSchema: z.ZodType<Spec> = z.looseObject({
  ociVersion: z.string().check(z.refine((v) => /^1\.[0-9]+\.[0-9]+/.test(v), { message: 'expected an OCI runtime spec version 1.x.y' })),
  process: z.optional(processSchema),
  mounts: z.optional(z.array(mountSchema)),
  annotations: z.optional(z.record(z.string(), z.string())),
});

const annotationsOnlySchema = z.looseObject({ annotations: z.optional(z.record(z.string(), z.string())) });

/**
 * Validates a parsed `config.json`. Returns the input itself (same object, same key
 * order) typed as a Spec; throws OciSpecInvalidError (`FLOXK8S_SPEC_INVALID`) naming the path.
 */
export function parseSpec(input: unknown): Spec {
  return check(specSchema, input, 'expected an OCI runtime spec object');
}

/** Validates a `runc exec --process` document; throws OciSpecInvalidError. */
export function parseProcess(input: unknown): Process {
  return check(processSchema, input, 'expected an OCI process object');
}

/** Only the annotations of a spec, validated; `{}` when it has none. */
export function specAnnotations(input: unknown): Record<string, string> {
  const spec = check<{ annotations?: Record<string, string> }>(annotationsOnlySchema, input, 'expected an OCI runtime spec object');
  return spec.annotations ?? {};
}

// Validation only: zod rebuilds objects in schema key order, which would break the
// byte-for-byte round trip, so callers keep working on the original input.
function check<T>(schema: z.ZodType, input: unknown, notObject: string): T {
  if (typeof input !== 'object' || input === null || Array.isArray(input)) {
    throw new OciSpecInvalidError('', notObject);
  }
  const result = schema.safeParse(input);
  if (!result.success) {
    const { path, message } = firstIssue(result.error);
    throw new OciSpecInvalidError(path, message, { cause: result.error });
  }
  return input as T;
}
