import { readFile } from 'node:fs/promises';
import type { z } from 'zod';
import { CredentialsInvalidError } from './errors.ts';

/** Credentials for one cache: a bearer token or HTTP basic auth. */
export type CacheCredentials = { bearer: string } | { username: string; password: string };

type CredentialsFile = { version: 1; caches: Array<{ url: string } & CacheCredentials> };

let schema: Promise<z.ZodType<CredentialsFile>> | undefined;

/**
 * The zod schema of the credentials file: JSON `{ "version": 1, "caches": [ { "url": "https://cache.example", "bearer": "…" },
 * { "url": "https://other.example/prefix", "username": "…", "password": "…" } ] }`.
 * An entry applies to every cache whose URL starts with its `url`; the longest match wins.
 * zod is loaded on first use: a client without a credentials file never pays its ~20 MB.
 */
export function credentialsFileSchema(): Promise<z.ZodType<CredentialsFile>> {
  schema ??= import('zod').then(({ z }) => {
    const entry = z.union([
      z.strictObject({ url: z.url(), bearer: z.string().min(1) }),
      z.strictObject({ url: z.url(), username: z.string().min(1), password: z.string() }),
    ]);
    return z.strictObject({ version: z.literal(1), caches: z.array(entry) });
  });
  return schema;
}

/** Credentials keyed by cache URL prefix. */
export type CredentialsTable = ReadonlyArray<{ url: string; credentials: CacheCredentials }>;

/** Parse a credentials file's text; throws CredentialsInvalidError (FLOXK8S_CREDENTIALS_INVALID) with the failing path. */
export async function parseCredentialsFile(text: string): Promise<CredentialsTable> {
  let json: unknown;
  try {
    json = JSON.parse(text);
  } catch (cause) {
    throw new CredentialsInvalidError(`credentials file is not valid JSON: ${(cause as Error).message}`, { cause });
  }
  const parsed = (await credentialsFileSchema()).safeParse(json);
  if (!parsed.success) {
    const issue = parsed.error.issues[0];
    const path = issue?.path.map((p) => (typeof p === 'number' ? `[${p}]` : `.${String(p)}`)).join('').replace(/^\./, '') ?? '';
    throw new CredentialsInvalidError(`credentials file ${path || '<root>'}: ${issue?.message ?? 'invalid'}; expected { version: 1, caches: [{ url, bearer } | { url, username, password }] }`, {
      cause: parsed.error,
    });
  }
  return parsed.data.caches.map((entry) => {
    const credentials: CacheCredentials = 'bearer' in entry ? { bearer: entry.bearer } : { username: entry.username, password: entry.password };
    return { url: entry.url, credentials };
  });
}

/** Read and parse a credentials file. */
export async function loadCredentialsFile(path: string): Promise<CredentialsTable> {
  return parseCredentialsFile(await readFile(path, 'utf8'));
}

/** The credentials of the longest `url` prefix matching `cacheUrl`, if any. */
export function credentialsFor(table: CredentialsTable, cacheUrl: string): CacheCredentials | undefined {
  let best: { url: string; credentials: CacheCredentials } | undefined;
  for (const entry of table) {
    const prefix = entry.url.replace(/\/+$/, '');
    const matches = cacheUrl === prefix || cacheUrl.startsWith(`${prefix}/`);
    if (matches && (best === undefined || prefix.length > best.url.length)) best = { url: prefix, credentials: entry.credentials };
  }
  return best?.credentials;
}

/** The Authorization header value for credentials. */
export function authorizationHeader(credentials: CacheCredentials): string {
  if ('bearer' in credentials) return `Bearer ${credentials.bearer}`;
  return `Basic ${Buffer.from(`${credentials.username}:${credentials.password}`).toString('base64')}`;
}
