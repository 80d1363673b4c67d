// The environment layout shared by hub and directory sources:
//   <base>/<owner>/<name>/generations/<N>/manifest.lock   one lockfile per generation
//   <base>/<owner>/<name>/live                            the live generation number, one line
//   <base>/<owner>/<name>/by-digest/<sha256 hex>          generation number for a digest (optional)
import { createHash } from 'node:crypto';
import { EnvironmentRefInvalidError } from '@flox-k8s/lockfile/reference';
import { EnvironmentSourceError } from './errors.ts';

// As @flox-k8s/lockfile's reference grammar allows, re-checked here because these
// segments become path components under a source's base.
const SEGMENT = /^[A-Za-z0-9_][A-Za-z0-9._-]{0,127}$/;

/** Rejects owner/name segments that could escape the source's base (annotations are untrusted). */
export function checkSegment(kind: 'owner' | 'name', value: string): string {
  if (!SEGMENT.test(value) || value.includes('..')) {
    throw new EnvironmentRefInvalidError(value, `${kind} is not allowed: expected letters, digits, ".", "_", "-", not starting with "." or "-"`);
  }
  return value;
}

export function livePath(owner: string, name: string): string {
  return `${checkSegment('owner', owner)}/${checkSegment('name', name)}/live`;
}

/** Path of generation N's `manifest.lock` relative to a source's base (its SBOMs are beside it). */
export function generationPath(owner: string, name: string, generation: number): string {
  return `${checkSegment('owner', owner)}/${checkSegment('name', name)}/generations/${generation}/manifest.lock`;
}

export function digestPath(owner: string, name: string, digest: string): string {
  if (!/^[0-9a-f]{64}$/.test(digest)) throw new EnvironmentRefInvalidError(digest, 'digest: expected 64 lowercase hex');
  return `${checkSegment('owner', owner)}/${checkSegment('name', name)}/by-digest/${digest}`;
}

/** Parses a live or by-digest pointer: one positive decimal generation number. */
export function parseGenerationPointer(text: string, where: string): number {
  const trimmed = text.trim();
  if (!/^[1-9][0-9]{0,8}$/.test(trimmed)) {
    // Never the content itself: it reaches the pod's events, and a source may serve any file.
    throw new EnvironmentSourceError(`${where}: expected a generation number (1 to 999999999 on one line), found ${text.length} characters that are not one`);
  }
  return Number(trimmed);
}

/** Largest lockfile accepted from any source. */
export const MAX_LOCKFILE_BYTES: number = 16 * 1024 * 1024;

/**
 * lockfileDigest's definition (sha256 of the exact bytes, lowercase hex), here so a warm start
 * resolves a reference without loading the lockfile parser and its schemas.
 */
export function lockfileBytesDigest(bytes: Uint8Array): string {
  return createHash('sha256').update(bytes).digest('hex');
}
