// Fetching one commit of a floxmeta branch and reading what a reference needs from it:
// `metadata.json`, then the lockfile of the generation it names. isomorphic-git indexes the
// pack (resolving deltas, hashing every object) and walks the commit's tree; ./upload-pack.ts
// frames the single upload-pack exchange. Loaded only when a read must fetch.
import { createHash } from 'node:crypto';
import * as fs from 'node:fs';
import { mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { errorCode, isFloxK8sError } from '@flox-k8s/core';
import { parseLockfile, type EnvironmentRef } from '@flox-k8s/lockfile';
import { indexPack, readBlob, readCommit as readGitCommit } from 'isomorphic-git';
import { MAX_LOCKFILE_BYTES } from '../layout.ts';
import type { FloxmetaCache, FloxmetaHit } from './cache.ts';
import type { BranchTip } from './discover.ts';
import {
  FloxmetaGenerationNotFoundError,
  FloxmetaLockfileInvalidError,
  FloxmetaLockfileMissingError,
  FloxmetaMetadataInvalidError,
  FloxmetaTooLargeError,
  FloxmetaTransportError,
} from './errors.ts';
import { generationLockfilePath, MAX_METADATA_BYTES, METADATA_FILE } from './layout.ts';
import { parseGenerationsMetadata } from './metadata.ts';
import type { Transport } from './transport.ts';
import { packFromResult, uploadPackRequest } from './upload-pack.ts';

export interface CommitRead {
  label: string;
  cache: FloxmetaCache;
  ref: EnvironmentRef;
  transport: Transport;
  repoUrl: string;
  tip: BranchTip;
  /** Throws the timeout error once the read's deadline has passed. */
  deadline: () => void;
}

/** Fetches the branch tip and answers `ref` from it, caching what it read. */
export async function readCommit({ label, cache, ref, transport, repoUrl, tip, deadline }: CommitRead): Promise<FloxmetaHit> {
  const { commit, capabilities } = tip;
  const where = `${label}: ${ref.owner}/floxmeta branch ${ref.name}`;
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
    await readGitCommit({ fs, gitdir: dir, oid: commit }).catch((error: unknown) => {
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

