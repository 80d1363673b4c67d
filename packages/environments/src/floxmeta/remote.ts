// One read of a floxmeta branch over git's smart HTTP protocol: discover the branch tip
// (one GET), fetch exactly that commit at depth 1 (one POST), then read metadata.json and
// the lockfile blobs the reference needs out of the pack. isomorphic-git parses the ref
// advertisement, indexes the pack (resolving deltas, hashing every object) and walks the
// commit's tree; ./upload-pack.ts frames the single upload-pack exchange.
// Loaded only when the cache cannot answer: a warm start never parses this module.
import { createHash } from 'node:crypto';
import * as fs from 'node:fs';
import { mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import type { FloxmetaSource } from '@flox-k8s/config';
import { errorCode, isFloxK8sError } from '@flox-k8s/core';
import { parseLockfile, type EnvironmentRef } from '@flox-k8s/lockfile';
import { getRemoteInfo, indexPack, readBlob, readCommit, type GitHttpRequest, type GitHttpResponse } from 'isomorphic-git';
import { MAX_LOCKFILE_BYTES } from '../layout.ts';
import type { FloxmetaCache, FloxmetaHit } from './cache.ts';
import {
  FloxmetaEnvironmentNotFoundError,
  FloxmetaGenerationNotFoundError,
  FloxmetaLockfileInvalidError,
  FloxmetaLockfileMissingError,
  FloxmetaMetadataInvalidError,
  FloxmetaOwnerNotFoundError,
  FloxmetaTimeoutError,
  FloxmetaTooLargeError,
  FloxmetaTransportError,
} from './errors.ts';
import { environmentBranch, floxmetaRepoUrl, generationLockfilePath, MAX_METADATA_BYTES, METADATA_FILE } from './layout.ts';
import { parseGenerationsMetadata } from './metadata.ts';
import { readToken } from './token.ts';
import { Transport } from './transport.ts';
import { packFromResult, uploadPackRequest } from './upload-pack.ts';

/** Largest ref advertisement accepted (every environment of the owner is a branch in it). */
const MAX_ADVERTISEMENT_BYTES = 4 * 1024 * 1024;

export interface RemoteRead {
  source: FloxmetaSource;
  label: string;
  cache: FloxmetaCache;
  ref: EnvironmentRef;
  /** Called with the request count when the read ends (tests, logs). */
  onRequests?: (count: number) => void;
}

/**
 * Reads `ref` from the remote and records what it learnt in the cache. For a digest
 * reference the answer is the generation with that lockfile digest, else the live one
 * (the caller reports the mismatch, as for every source).
 */
export async function readFromRemote(read: RemoteRead): Promise<FloxmetaHit> {
  const { source, label, ref } = read;
  const controller = new AbortController();
  const timer = setTimeout(() => controller.abort(), source.timeoutMs);
  const deadline = (): void => {
    if (controller.signal.aborted) throw new FloxmetaTimeoutError(`${label}: reading ${ref.owner}/${ref.name} took longer than the source's timeoutMs (${source.timeoutMs} ms)`);
  };
  let transport: Transport | undefined;
  let authorization: string | undefined;
  try {
    authorization = source.tokenFile === undefined ? undefined : `Basic ${Buffer.from(`oauth:${await readToken(source.tokenFile, label)}`).toString('base64')}`;
    transport = new Transport({ baseUrl: source.url, authorization, tokenFile: source.tokenFile, signal: controller.signal, maxBytes: source.maxFetchBytes, label });
    return await readBranch(read, transport, deadline);
  } catch (error) {
    if (controller.signal.aborted && !(error instanceof FloxmetaTimeoutError)) {
      throw new FloxmetaTimeoutError(`${label}: reading ${ref.owner}/${ref.name} took longer than the source's timeoutMs (${source.timeoutMs} ms)`, { cause: error });
    }
    throw isFloxK8sError(error) ? error : new FloxmetaTransportError(`${label}: ${withoutSecret((error as Error).message, authorization)}`, { cause: error });
  } finally {
    clearTimeout(timer);
    transport?.close();
    if (transport !== undefined) read.onRequests?.(transport.requests);
  }
}

async function readBranch({ source, label, cache, ref }: RemoteRead, transport: Transport, deadline: () => void): Promise<FloxmetaHit> {
  const repoUrl = floxmetaRepoUrl(source.url, ref.owner);
  const where = `${label}: ${ref.owner}/floxmeta branch ${ref.name}`;
  const { commit, capabilities } = await discoverBranch(transport, repoUrl, ref, label);
  deadline();
  if (source.liveTtlMs > 0) cache.storeLiveTip(ref.owner, ref.name, commit, Date.now());
  if (ref.kind === 'live') {
    const known = cache.commit(ref.owner, ref.name, commit);
    if (known !== undefined) return known;
  }
  const objects = await fetchCommit(transport, repoUrl, commit, capabilities, cache, label);
  try {
    deadline();
    const metadataBytes = await objects.read(METADATA_FILE, MAX_METADATA_BYTES);
    if (metadataBytes === undefined) throw new FloxmetaMetadataInvalidError(`${where}: commit ${commit} has no ${METADATA_FILE}; not a Flox generations branch`);
    const metadata = parseGenerationsMetadata(metadataBytes, `${where} (${commit.slice(0, 12)})`);
    const generation = async (n: number): Promise<FloxmetaHit> => {
      const hit = await readGeneration(objects, n, `${where} (${commit.slice(0, 12)})`);
      cache.storeGeneration(ref.owner, ref.name, hit);
      return hit;
    };
    if (ref.kind === 'generation') {
      if (!metadata.generations.includes(ref.generation)) {
        throw new FloxmetaGenerationNotFoundError(`${where}: no generation ${ref.generation} (generations: ${summary(metadata.generations)}); pin one that exists`);
      }
      return await generation(ref.generation);
    }
    if (metadata.live === undefined) throw new FloxmetaGenerationNotFoundError(`${where}: the environment has no generations yet; push one with flox push`);
    if (ref.kind === 'digest') {
      // No by-digest index on FloxHub: look through the generations in the fetched tree,
      // live first, newest next. Only the match is parsed and cached.
      for (const n of [metadata.live, ...metadata.generations.filter((g) => g !== metadata.live)]) {
        const bytes = await objects.read(generationLockfilePath(n), MAX_LOCKFILE_BYTES);
        if (bytes !== undefined && sha256(bytes) === ref.digest) return await generation(n);
        deadline();
      }
    }
    const live = await generation(metadata.live);
    if (ref.kind === 'live') cache.storeCommit(ref.owner, ref.name, commit, live);
    return live;
  } finally {
    objects.close();
  }
}

/** GET info/refs: the tip of the environment's branch and what the server can do. */
async function discoverBranch(transport: Transport, repoUrl: string, ref: EnvironmentRef, label: string): Promise<{ commit: string; capabilities: string[] }> {
  const http = {
    async request(req: GitHttpRequest): Promise<GitHttpResponse> {
      const answer = await transport.request(req.method === 'POST' ? 'POST' : 'GET', req.url, req.headers ?? {}, undefined, MAX_ADVERTISEMENT_BYTES);
      if (answer.statusCode === 404) {
        throw new FloxmetaOwnerNotFoundError(`${label}: no floxmeta repository for owner ${ref.owner} (HTTP 404 for ${new URL(repoUrl).pathname}); check the owner, or the source's url`);
      }
      return { url: answer.url, method: req.method ?? 'GET', statusCode: answer.statusCode, statusMessage: answer.statusMessage, headers: answer.headers, body: oneChunk(answer.body) };
    },
  };
  let info: Awaited<ReturnType<typeof getRemoteInfo>>;
  try {
    info = await getRemoteInfo({ http, url: repoUrl });
  } catch (error) {
    if (isFloxK8sError(error)) throw error;
    throw new FloxmetaTransportError(`${label}: ${new URL(repoUrl).pathname} is not a git smart-HTTP repository (${(error as { code?: string }).code ?? 'error'}: ${(error as Error).message.slice(0, 160)})`, { cause: error });
  }
  const heads: unknown = info.refs?.['heads'];
  const branch = environmentBranch(ref.name).slice('refs/heads/'.length);
  const commit = typeof heads === 'object' && heads !== null && Object.hasOwn(heads, branch) ? (heads as Record<string, unknown>)[branch] : undefined;
  if (typeof commit !== 'string' || !/^[0-9a-f]{40}$/.test(commit)) {
    throw new FloxmetaEnvironmentNotFoundError(`${label}: ${ref.owner}/floxmeta has no branch ${ref.name}, so no environment ${ref.owner}/${ref.name}; check the name or push it with flox push`);
  }
  return { commit, capabilities: info.capabilities };
}

interface CommitObjects {
  /** A file of the commit's tree, or undefined when there is no such file. */
  read(path: string, limit: number): Promise<Uint8Array | undefined>;
  close(): void;
}

/** POST git-upload-pack for `commit` at depth 1; the pack is indexed into a scratch directory. */
async function fetchCommit(transport: Transport, repoUrl: string, commit: string, capabilities: string[], cache: FloxmetaCache, label: string): Promise<CommitObjects> {
  const { body, ...mode } = uploadPackRequest(commit, capabilities);
  const answer = await transport.request(
    'POST',
    `${repoUrl}/git-upload-pack`,
    { 'content-type': 'application/x-git-upload-pack-request', accept: 'application/x-git-upload-pack-result' },
    body,
  );
  if (answer.statusCode === 404) throw new FloxmetaTransportError(`${label}: ${new URL(repoUrl).pathname}/git-upload-pack answered HTTP 404`);
  const pack = packFromResult(answer.body, commit, mode, label);
  const dir = cache.scratchDir();
  const close = (): void => cache.removeScratch(dir);
  try {
    const name = `pack-${Buffer.from(pack.subarray(pack.length - 20)).toString('hex')}.pack`;
    mkdirSync(join(dir, 'objects', 'pack'), { recursive: true });
    writeFileSync(join(dir, 'objects', 'pack', name), pack);
    await indexPack({ fs, dir, gitdir: dir, filepath: `objects/pack/${name}` });
    await readCommit({ fs, gitdir: dir, oid: commit }).catch((error: unknown) => {
      throw new FloxmetaTransportError(`${label}: the fetched pack does not hold commit ${commit}`, { cause: error });
    });
  } catch (error) {
    close();
    if (isFloxK8sError(error)) throw error;
    throw new FloxmetaTransportError(`${label}: the fetched pack is corrupt (${(error as { code?: string }).code ?? 'error'}: ${(error as Error).message.slice(0, 160)})`, { cause: error });
  }
  return {
    async read(path, limit) {
      let blob: Uint8Array;
      try {
        ({ blob } = await readBlob({ fs, gitdir: dir, oid: commit, filepath: path }));
      } catch (error) {
        const code = (error as { code?: string }).code;
        // Missing, or a directory where a file should be: either way there is no such file.
        if (code === 'NotFoundError' || code === 'ObjectTypeError') return undefined;
        throw new FloxmetaTransportError(`${label}: cannot read ${path} from the fetched pack (${code ?? 'error'})`, { cause: error });
      }
      if (blob.length > limit) throw new FloxmetaTooLargeError(`${label}: ${path} at ${commit.slice(0, 12)} is ${blob.length} bytes, over the ${limit}-byte limit`);
      return blob;
    },
    close,
  };
}

/** Generation N's lockfile, validated before anyone caches or uses it. */
async function readGeneration(objects: CommitObjects, generation: number, where: string): Promise<FloxmetaHit> {
  const path = generationLockfilePath(generation);
  const bytes = await objects.read(path, MAX_LOCKFILE_BYTES);
  if (bytes === undefined) {
    throw new FloxmetaLockfileMissingError(`${where}: generation ${generation} has no ${path} (it was saved without a lock); lock and push it with flox`);
  }
  try {
    parseLockfile(bytes);
  } catch (error) {
    throw new FloxmetaLockfileInvalidError(`${where}: ${path} is not a valid lockfile (${errorCode(error) ?? 'FLOXK8S_LOCKFILE_INVALID'}): ${(error as Error).message.slice(0, 300)}`, { cause: error });
  }
  return { bytes, digest: sha256(bytes), generation };
}

function sha256(bytes: Uint8Array): string {
  return createHash('sha256').update(bytes).digest('hex');
}

function summary(generations: readonly number[]): string {
  if (generations.length === 0) return 'none';
  const sorted = [...generations].sort((a, b) => a - b);
  return sorted.length <= 10 ? sorted.join(', ') : `${sorted.slice(0, 5).join(', ')}, …, ${sorted.slice(-3).join(', ')}`;
}

async function* oneChunk(body: Uint8Array): AsyncIterableIterator<Uint8Array> {
  yield body;
}

/** A message from a library can echo request details: the credential never leaves in one. */
function withoutSecret(message: string, authorization: string | undefined): string {
  if (authorization === undefined) return message;
  const encoded = authorization.slice('Basic '.length);
  const token = Buffer.from(encoded, 'base64').toString('utf8').slice('oauth:'.length);
  return message.split(encoded).join('[redacted]').split(token).join('[redacted]');
}
