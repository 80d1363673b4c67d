// One read of a floxmeta branch over git's smart HTTP protocol: the token, one deadline,
// discovery of the branch tip (one GET); then, unless the cache knows that commit, the
// fetch (./fetch.ts, which loads the git client). Loaded only when the cache cannot answer.
import type { FloxmetaSource } from '@flox-k8s/config';
import { isFloxK8sError } from '@flox-k8s/core';
import type { EnvironmentRef } from '@flox-k8s/lockfile/reference';
import type { RequestToken } from '../types.ts';
import type { FloxmetaCache, FloxmetaHit } from './cache.ts';
import { discoverBranch } from './discover.ts';
import { FloxmetaTimeoutError, FloxmetaTransportError } from './errors.ts';
import { floxmetaRepoUrl } from './layout.ts';
import { readToken } from './token.ts';
import { Transport } from './transport.ts';

export interface RemoteRead {
  source: FloxmetaSource;
  label: string;
  cache: FloxmetaCache;
  ref: EnvironmentRef;
  /** Used instead of the source's tokenFile (a pod's own token). */
  token?: RequestToken;
}

/**
 * Reads `ref` from the remote and records what it learnt in the cache. For a digest
 * reference the answer is the generation with that lockfile digest, else the live one
 * (the caller reports the mismatch, as for every source).
 */
export async function readFromRemote(read: RemoteRead): Promise<FloxmetaHit> {
  const { source, label, ref, cache, token } = read;
  const controller = new AbortController();
  const timer = setTimeout(() => controller.abort(), source.timeoutMs);
  const late = (cause?: unknown): FloxmetaTimeoutError =>
    new FloxmetaTimeoutError(`${label}: reading ${ref.owner}/${ref.name} took longer than the source's timeoutMs (${source.timeoutMs} ms)`, { cause });
  const deadline = (): void => {
    if (controller.signal.aborted) throw late();
  };
  let transport: Transport | undefined;
  let authorization: string | undefined;
  try {
    // Sent as Flox's git credential helper makes git send it: user "oauth", the token as password.
    const secret = token?.value ?? (source.tokenFile === undefined ? undefined : await readToken(source.tokenFile, label));
    authorization = secret === undefined ? undefined : `Basic ${Buffer.from(`oauth:${secret}`).toString('base64')}`;
    const tokenFile = token?.origin ?? source.tokenFile;
    transport = new Transport({ baseUrl: source.url, authorization, tokenFile, signal: controller.signal, maxBytes: source.maxFetchBytes, label });
    const repoUrl = floxmetaRepoUrl(source.url, ref.owner);
    const tip = await discoverBranch(transport, repoUrl, ref, label);
    deadline();
    if (source.liveTtlMs > 0) cache.storeLiveTip(ref.owner, ref.name, tip.commit, Date.now());
    if (ref.kind === 'live') {
      const known = cache.commit(ref.owner, ref.name, tip.commit);
      if (known !== undefined) return known;
    }
    const { readCommit } = await import('./fetch.ts');
    return await readCommit({ label, cache, ref, transport, repoUrl, tip, deadline });
  } catch (error) {
    if (controller.signal.aborted && !(error instanceof FloxmetaTimeoutError)) throw late(error);
    throw isFloxK8sError(error) ? error : new FloxmetaTransportError(`${label}: ${withoutSecret((error as Error).message, authorization)}`, { cause: error });
  } finally {
    clearTimeout(timer);
    transport?.close();
  }
}

/** A message from a library can echo request details: the credential never leaves in one. */
function withoutSecret(message: string, authorization: string | undefined): string {
  if (authorization === undefined) return message;
  const encoded = authorization.slice('Basic '.length);
  const token = Buffer.from(encoded, 'base64').toString('utf8').slice('oauth:'.length);
  return message.split(encoded).join('[redacted]').split(token).join('[redacted]');
}
