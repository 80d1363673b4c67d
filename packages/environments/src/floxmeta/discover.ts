// Ref discovery, git smart HTTP (gitprotocol-http, protocol v0/v1): one
// `GET <repo>/info/refs?service=git-upload-pack`, answered with
//   "# service=git-upload-pack\n" flush  "<oid> <ref>\0<capabilities>\n"  "<oid> <ref>\n"…  flush
// Parsed here rather than by isomorphic-git: a live resolve whose branch has not moved
// needs only this, and loading the git client and the lockfile parser with it would add
// ~35-45 ms to every such container start (measured in the interposer bundle: README).
import type { EnvironmentRef } from '@flox-k8s/lockfile/reference';
import { FloxmetaEnvironmentNotFoundError, FloxmetaOwnerNotFoundError } from './errors.ts';
import { environmentBranch } from './layout.ts';
import { PktReader, protocolError } from './pkt-line.ts';
import type { Transport } from './transport.ts';

/** Largest ref advertisement accepted (every environment of the owner is a branch in it). */
export const MAX_ADVERTISEMENT_BYTES: number = 4 * 1024 * 1024;

export interface BranchTip {
  commit: string;
  /** What the server's upload-pack offers (`shallow`, `side-band-64k`, …). */
  capabilities: string[];
}

/** The tip of the environment's branch; a missing repository or branch is the matching not-found error. */
export async function discoverBranch(transport: Transport, repoUrl: string, ref: EnvironmentRef, label: string): Promise<BranchTip> {
  const path = new URL(repoUrl).pathname;
  const answer = await transport.request('GET', `${repoUrl}/info/refs?service=git-upload-pack`, { accept: 'application/x-git-upload-pack-advertisement' }, undefined, MAX_ADVERTISEMENT_BYTES);
  if (answer.statusCode === 404) {
    throw new FloxmetaOwnerNotFoundError(`${label}: no floxmeta repository for owner ${ref.owner} (HTTP 404 for ${path}); check the owner, or the source's url`);
  }
  // A dumb server or a login page answers 200 too: only the smart advertisement will do.
  if (answer.headers['content-type'] !== 'application/x-git-upload-pack-advertisement') {
    throw protocolError(label, `${path} is not a git smart-HTTP repository (content-type ${answer.headers['content-type'] ?? 'none'})`);
  }
  const { refs, capabilities } = parseAdvertisement(answer.body, label);
  const commit = refs.get(environmentBranch(ref.name));
  if (commit === undefined) {
    throw new FloxmetaEnvironmentNotFoundError(`${label}: ${ref.owner}/floxmeta has no branch ${ref.name}, so no environment ${ref.owner}/${ref.name}; check the name or push it with flox push`);
  }
  return { commit, capabilities };
}

/** Refs (name → oid) and capabilities of an upload-pack advertisement. */
export function parseAdvertisement(body: Uint8Array, label: string): { refs: Map<string, string>; capabilities: string[] } {
  const reader = new PktReader(body, label);
  const first = reader.next();
  if (first === 'flush' || !/^# service=git-upload-pack\n?$/.test(new TextDecoder().decode(first))) {
    throw protocolError(label, 'the ref advertisement does not start with "# service=git-upload-pack"');
  }
  if (reader.next() !== 'flush') throw protocolError(label, 'expected a flush after the service line');
  const refs = new Map<string, string>();
  let capabilities: string[] | undefined;
  for (;;) {
    const line = reader.next();
    if (line === 'flush') break;
    let text = new TextDecoder().decode(line).replace(/\n$/, '');
    const nul = text.indexOf('\0');
    if (nul !== -1) {
      capabilities ??= text.slice(nul + 1).split(' ').filter((c) => c !== '');
      text = text.slice(0, nul);
    }
    const match = /^([0-9a-f]{40}) (\S+)$/.exec(text);
    if (match === null) throw protocolError(label, `bad ref line "${text.slice(0, 80)}"`);
    // An empty repository advertises only "capabilities^{}" with a zero id.
    if (match[2] !== 'capabilities^{}') refs.set(match[2] as string, match[1] as string);
  }
  return { refs, capabilities: capabilities ?? [] };
}
