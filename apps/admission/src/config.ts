// The webhook's config file (JSON, mounted from a ConfigMap). Sources, caches and keys
// are @flox-k8s/config's own entries, so the webhook resolves and verifies exactly as the
// nodes do.
import { readFileSync } from 'node:fs';
import { formatIssues } from '@flox-k8s/core';
import { join } from 'node:path';
import { shimConfigSchema, withSourceCaches, type EnvironmentSource } from '@flox-k8s/config';
import { z } from 'zod';
import { AdmissionConfigInvalidError } from './errors.ts';

const absolutePath = z.string().refine((p) => p.startsWith('/') && !p.split('/').includes('..'), 'expected an absolute path without ".."');
const nixSystem = z.string().regex(/^[a-z0-9_]+-[a-z0-9_]+$/, 'expected a Nix system such as x86_64-linux');

export const admissionConfigSchema = z.strictObject({
  listen: z.strictObject({ host: z.string().min(1).default('0.0.0.0'), port: z.number().int().min(0).max(65535).default(8443) }).default({ host: '0.0.0.0', port: 8443 }),
  tls: z
    .strictObject({
      /** PEM certificate chain (cert-manager's `tls.crt`). */
      certFile: absolutePath.default('/etc/flox-admission/tls/tls.crt'),
      /** PEM private key (`tls.key`). */
      keyFile: absolutePath.default('/etc/flox-admission/tls/tls.key'),
      /** How often to look for a renewed pair (cert-manager rotates the Secret in place). */
      reloadIntervalSeconds: z.number().positive().default(30),
    })
    .default({ certFile: '/etc/flox-admission/tls/tls.crt', keyFile: '/etc/flox-admission/tls/tls.key', reloadIntervalSeconds: 30 }),
  sources: shimConfigSchema.shape.sources,
  /** Writable directory for caches (a floxmeta source's pinned generations, unless it names a cacheDir). */
  cacheDir: absolutePath.default('/var/cache/flox-admission'),
  caches: shimConfigSchema.shape.caches,
  trustedKeys: shimConfigSchema.shape.trustedKeys,
  /** The node systems pods may land on: each one the lockfile has must pass the policy. */
  systems: z.array(nixSystem).min(1).default(['x86_64-linux']),
  /** Rewrite `owner/name` and `owner/name:N` to `owner/name@sha256:<digest>` (mutating webhook). */
  rewriteToDigest: z.boolean().default(false),
  /** Where the policy's SBOM comes from: the one published beside the generation when it fits, else the caches' narinfos; or always the caches. */
  sbomSource: z.enum(['published-or-computed', 'computed']).default('published-or-computed'),
  /** The SBOM policy (YAML or JSON, mounted from a ConfigMap); none: no SBOM rules. */
  policyFile: absolutePath.optional(),
  policyReloadSeconds: z.number().positive().default(10),
  logLevel: z.enum(['debug', 'info', 'warn', 'error']).default('info'),
  limits: z
    .strictObject({
      /** Largest AdmissionReview body (object + oldObject); larger is 413. */
      maxBodyBytes: z.number().int().positive().default(4 * 1024 * 1024),
      /** A client must send its whole request within this. */
      requestTimeoutMs: z.number().int().positive().default(10_000),
      /** Budget to check one environment; the API server gives the webhook `timeoutSeconds` (5 s in the manifests). */
      reviewTimeoutMs: z.number().int().positive().default(4_000),
      /** How long a resolved reference is reused (live and generation references can move). */
      resolveCacheSeconds: z.number().min(0).default(10),
      /** Environments' SBOMs kept (by digest and system). */
      sbomCacheEntries: z.number().int().positive().default(256),
    })
    .default({ maxBodyBytes: 4 * 1024 * 1024, requestTimeoutMs: 10_000, reviewTimeoutMs: 4_000, resolveCacheSeconds: 10, sbomCacheEntries: 256 }),
});

/** The validated config, every floxmeta source's cacheDir filled in (`<cacheDir>/floxmeta`). */
export type AdmissionConfig = Omit<z.output<typeof admissionConfigSchema>, 'sources'> & { sources: EnvironmentSource[] };

/** Validate a parsed config; errors name the bad path. */
export function parseAdmissionConfig(input: unknown, source = 'admission config'): AdmissionConfig {
  const result = admissionConfigSchema.safeParse(input);
  if (!result.success) throw new AdmissionConfigInvalidError(`${source}: ${formatIssues(result.error)}`);
  return { ...result.data, sources: withSourceCaches(result.data.sources, join(result.data.cacheDir, 'floxmeta')) };
}

/** Read and validate the config file. */
export function loadAdmissionConfig(path: string): AdmissionConfig {
  let json: unknown;
  try {
    json = JSON.parse(readFileSync(path, 'utf8'));
  } catch (cause) {
    throw new AdmissionConfigInvalidError(`cannot read ${path} as JSON: ${(cause as Error).message}`, { cause });
  }
  return parseAdmissionConfig(json, path);
}
