import type { EnvironmentSource } from '@flox-k8s/config';
import { isFloxK8sError, type FloxK8sError } from '@flox-k8s/core';
import type { Lockfile } from '@flox-k8s/lockfile';
// The grammar alone: a warm container start resolves a reference without loading the lockfile parser.
import { EnvironmentRefInvalidError, parseEnvironmentRef, type EnvironmentRef } from '@flox-k8s/lockfile/reference';
import { EnvironmentDigestMismatchError, EnvironmentNotFoundError, EnvironmentSourceError } from './errors.ts';
import { dirSourceReader } from './dir.ts';
import { floxmetaSourceReader } from './floxmeta/source.ts';
import { hubSourceReader } from './hub.ts';
import { MAX_LOCKFILE_BYTES, checkSegment, digestPath, generationPath, livePath, lockfileBytesDigest, parseGenerationPointer } from './layout.ts';
import type { EnvironmentSourceReader, RequestToken, SourceReader } from './types.ts';

/** The lockfile a reference resolves to, before parsing. */
export interface FetchedEnvironment {
  ref: EnvironmentRef;
  /** The exact lockfile bytes the source served. */
  bytes: Uint8Array;
  /** sha256 of `bytes`, 64 lowercase hex. */
  digest: string;
  generation: number;
  /** Which source answered, e.g. `hub https://hub.example`. */
  source: string;
}

/** A resolved reference with its parsed lockfile (`lock.digest` set). */
export interface ResolvedEnvironment extends FetchedEnvironment {
  lock: Lockfile;
}

/**
 * Parses a reference (an annotation value: untrusted) with @flox-k8s/lockfile's grammar;
 * owner and name are checked again as path segments. Throws EnvironmentRefInvalidError
 * (`FLOXK8S_ENV_REF_INVALID`).
 */
export function parseReference(value: string): EnvironmentRef {
  const ref = parseEnvironmentRef(value.trim());
  checkSegment('owner', ref.owner);
  checkSegment('name', ref.name);
  return ref;
}

/**
 * Builds readers for the configured sources, in order. `floxhubToken` (a pod's own FloxHub
 * token) replaces the `tokenFile` of floxmeta sources for this resolve; hub and dir sources
 * keep their configured credentials.
 */
export function sourceReaders(sources: readonly EnvironmentSource[], options: { floxhubToken?: RequestToken } = {}): EnvironmentSourceReader[] {
  return sources.map((s) => {
    switch (s.type) {
      case 'hub':
        return hubSourceReader(s);
      case 'dir':
        return dirSourceReader(s);
      case 'floxmeta':
        return floxmetaSourceReader(s, options.floxhubToken);
    }
  });
}

/**
 * Resolves a reference to the lockfile bytes through the sources, first match wins;
 * `@sha256:` pins must match the served bytes' digest. Parsing is left to
 * resolveEnvironment (`./parse.ts`): a warm start only needs the digest.
 */
export async function fetchEnvironment(ref: EnvironmentRef, readers: readonly EnvironmentSourceReader[]): Promise<FetchedEnvironment> {
  const display = `${ref.owner}/${ref.name}`;
  if (readers.length === 0) {
    throw new EnvironmentNotFoundError(`environment ${display}: no environment sources are configured; add a hub, dir or floxmeta source to the shim config`);
  }
  const failures: unknown[] = [];
  const notFound: EnvironmentNotFoundError[] = [];
  let mismatch: string | undefined;
  for (const reader of readers) {
    try {
      const found = 'resolve' in reader ? { ref, ...(await reader.resolve(ref)), source: reader.label } : await resolveIn(ref, reader);
      if (found === undefined) continue;
      if (ref.kind === 'digest' && found.digest !== ref.digest) {
        mismatch ??= `${reader.label} serves generation ${found.generation} with digest ${found.digest}`;
        continue;
      }
      return found;
    } catch (error) {
      if (error instanceof EnvironmentRefInvalidError) throw error;
      if (error instanceof EnvironmentNotFoundError) notFound.push(error);
      else failures.push(isFloxK8sError(error) ? error : new EnvironmentSourceError(`${reader.label}: ${(error as Error).message}`, { cause: error }));
    }
  }
  if (mismatch !== undefined) {
    throw new EnvironmentDigestMismatchError(`environment ${display}: expected lockfile digest sha256:${ref.kind === 'digest' ? ref.digest : ''}, but ${mismatch}; pin a published digest`);
  }
  // One source failing keeps its own code (FLOXK8S_FLOXMETA_UNAUTHORIZED, …); several are summed up.
  if (failures.length === 1) throw failures[0];
  if (failures.length > 1) {
    const parts = failures.map((e) => `${(e as FloxK8sError).code}: ${(e as Error).message}`);
    throw new EnvironmentSourceError(`environment ${display}: no source could answer (${parts.join('; ')})`, { cause: failures[0] });
  }
  // The only source saying precisely what is missing (no such owner, branch, generation) is the answer.
  if (readers.length === 1 && notFound.length === 1) throw notFound[0];
  const what = ref.kind === 'generation' ? `generation ${ref.generation} of ${display}` : display;
  const why = notFound.length === 0 ? '' : ` (${notFound.map((e) => e.message).join('; ')})`;
  throw new EnvironmentNotFoundError(`environment ${what} not found in ${readers.map((r) => r.label).join(', ')}${why}; publish it or fix flox.dev/environment`, {
    cause: notFound[0],
  });
}

async function resolveIn(ref: EnvironmentRef, reader: SourceReader): Promise<FetchedEnvironment | undefined> {
  let generation: number | undefined;
  if (ref.kind === 'generation') generation = ref.generation;
  else {
    if (ref.kind === 'digest') generation = await readPointer(reader, digestPath(ref.owner, ref.name, ref.digest));
    generation ??= await readPointer(reader, livePath(ref.owner, ref.name));
    if (generation === undefined) return undefined;
  }
  const path = generationPath(ref.owner, ref.name, generation);
  const read = reader.readLockfile === undefined ? await withDigest(reader.read(path, MAX_LOCKFILE_BYTES)) : await reader.readLockfile(path, MAX_LOCKFILE_BYTES);
  if (read === undefined) return undefined;
  return { ref, bytes: read.bytes, digest: read.digest, generation, source: reader.label };
}

async function withDigest(read: Promise<Uint8Array | undefined>): Promise<{ bytes: Uint8Array; digest: string } | undefined> {
  const bytes = await read;
  return bytes === undefined ? undefined : { bytes, digest: lockfileBytesDigest(bytes) };
}

async function readPointer(reader: SourceReader, path: string): Promise<number | undefined> {
  const bytes = await reader.read(path, 64);
  return bytes === undefined ? undefined : parseGenerationPointer(Buffer.from(bytes).toString('utf8'), `${reader.label}: ${path}`);
}
