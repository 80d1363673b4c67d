// Environment references come from pod annotations: untrusted input that is
// later used to build URLs and directory paths, so the grammar is strict and
// nothing that could name a host path, a URL or a parent directory passes.
import { EnvironmentRefInvalidError } from './errors.ts';

/** A parsed `owner/name`, `owner/name:N` or `owner/name@sha256:<hex>`. */
export type EnvironmentRef = { owner: string; name: string } & (
  | { kind: 'live' }
  | { kind: 'generation'; generation: number }
  | { kind: 'digest'; digest: string }
);

/** Longest reference accepted, in characters. */
export const MAX_ENVIRONMENT_REF_LENGTH = 256;

// FloxHub owners are GitHub-style handles; environment names are what
// `flox init --name` accepts. Neither may start with "." or "-", so "." and
// ".." (and option-looking names) can never be produced.
const OWNER = /^[A-Za-z0-9][A-Za-z0-9_-]{0,63}$/;
const NAME = /^[A-Za-z0-9_][A-Za-z0-9._-]{0,127}$/;
const GENERATION = /^[1-9][0-9]{0,14}$/;
const DIGEST = /^[0-9a-f]{64}$/;

/**
 * Parse an environment reference. Throws `FLOXK8S_ENV_REF_INVALID` for
 * anything else: paths, URLs, `..`, whitespace, empty parts, over-long input,
 * generation 0, digests that are not 64 lowercase hex digits.
 */
export function parseEnvironmentRef(s: string): EnvironmentRef {
  if (typeof s !== 'string') throw new EnvironmentRefInvalidError(String(s), 'expected a string');
  if (s.length === 0) throw new EnvironmentRefInvalidError(s, 'it is empty');
  if (s.length > MAX_ENVIRONMENT_REF_LENGTH) {
    throw new EnvironmentRefInvalidError(s, `it is longer than ${MAX_ENVIRONMENT_REF_LENGTH} characters`);
  }
  if (/\s/.test(s)) throw new EnvironmentRefInvalidError(s, 'it contains whitespace');
  if (s.includes('..')) throw new EnvironmentRefInvalidError(s, 'it contains ".."');
  if (s.includes('://') || s.startsWith('/') || s.includes('\\')) {
    throw new EnvironmentRefInvalidError(s, 'it looks like a URL or a path; use owner/name');
  }

  let rest = s;
  let pin: { kind: 'live' } | { kind: 'generation'; generation: number } | { kind: 'digest'; digest: string } = { kind: 'live' };
  const at = rest.indexOf('@');
  if (at !== -1) {
    const suffix = rest.slice(at + 1);
    rest = rest.slice(0, at);
    if (!suffix.startsWith('sha256:')) throw new EnvironmentRefInvalidError(s, 'a digest pin must be @sha256:<64 hex digits>');
    const digest = suffix.slice('sha256:'.length);
    if (!DIGEST.test(digest)) throw new EnvironmentRefInvalidError(s, 'a digest pin must be exactly 64 lowercase hex digits');
    pin = { kind: 'digest', digest };
  } else {
    const colon = rest.indexOf(':');
    if (colon !== -1) {
      const generation = rest.slice(colon + 1);
      rest = rest.slice(0, colon);
      if (!GENERATION.test(generation)) throw new EnvironmentRefInvalidError(s, 'a generation must be a whole number from 1');
      pin = { kind: 'generation', generation: Number(generation) };
    }
  }

  const parts = rest.split('/');
  if (parts.length !== 2) throw new EnvironmentRefInvalidError(s, 'expected exactly one "/" between owner and name');
  const [owner = '', name = ''] = parts;
  if (owner === '' || name === '') throw new EnvironmentRefInvalidError(s, 'owner and name must both be non-empty');
  if (!OWNER.test(owner)) throw new EnvironmentRefInvalidError(s, 'the owner may hold only letters, digits, "_" and "-" (at most 64)');
  if (!NAME.test(name)) throw new EnvironmentRefInvalidError(s, 'the name may hold only letters, digits, ".", "_" and "-" (at most 128), not starting with "." or "-"');
  return { owner, name, ...pin };
}

/** The canonical text of a reference; `parseEnvironmentRef(formatEnvironmentRef(r))` equals `r`. */
export function formatEnvironmentRef(ref: EnvironmentRef): string {
  const base = `${ref.owner}/${ref.name}`;
  switch (ref.kind) {
    case 'live':
      return base;
    case 'generation':
      return `${base}:${ref.generation}`;
    case 'digest':
      return `${base}@sha256:${ref.digest}`;
  }
}
