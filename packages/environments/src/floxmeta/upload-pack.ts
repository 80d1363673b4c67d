// The one upload-pack exchange a floxmeta read needs (git's smart HTTP, protocol v0/v1,
// stateless): "want <commit>" with depth 1, "done", and the pack back. isomorphic-git's
// fetch() cannot be used for it: it insists on resolving the remote's HEAD, which a
// floxmeta repository (branches named after environments, HEAD unborn) does not
// advertise (isomorphic-git issue #1654); it also wants what its own discovery found,
// where a read must fetch exactly the commit it already looked at.
import { createHash } from 'node:crypto';
import { FloxmetaBranchMovedError, FloxmetaTransportError } from './errors.ts';
import { PktReader, pktLine, protocolError } from './pkt-line.ts';

/** Capabilities we ask for when the server offers them (side-band for errors, no progress chatter). */
const WANTED = ['side-band-64k', 'side-band', 'ofs-delta', 'shallow', 'no-progress'];

/** The request body: want exactly `commit`, its tree and nothing older (`deepen 1` when the server can). */
export function uploadPackRequest(commit: string, serverCapabilities: readonly string[]): { body: Uint8Array } & UploadPackMode {
  const offered = new Set(serverCapabilities);
  // side-band-64k supersedes side-band.
  const caps = WANTED.filter((c) => offered.has(c) && !(c === 'side-band' && offered.has('side-band-64k')));
  const shallow = offered.has('shallow');
  const sideBand = caps.includes('side-band-64k') || caps.includes('side-band');
  const lines = [pktLine(`want ${commit} ${[...caps, 'agent=flox-k8s'].join(' ')}\n`)];
  if (shallow) lines.push(pktLine('deepen 1\n'));
  lines.push('0000', pktLine('done\n'));
  return { body: new TextEncoder().encode(lines.join('')), shallow, sideBand };
}

/** How the result is framed: a shallow section first (we sent `deepen`), side-band packets (we asked for them). */
export interface UploadPackMode {
  shallow: boolean;
  sideBand: boolean;
}

/**
 * The pack out of an upload-pack result: shallow section, NAK, then the pack (side-band
 * framed or raw). `ERR` lines and side-band errors become coded errors; "not our ref"
 * means the commit is no longer on any branch (history rewritten since we read the tip).
 */
export function packFromResult(result: Uint8Array, commit: string, { shallow, sideBand }: UploadPackMode, label: string): Uint8Array {
  const reader = new PktReader(result, label);
  if (shallow) {
    // shallow/unshallow lines, then a flush.
    for (;;) {
      const line = reader.next();
      if (line === 'flush') break;
      const text = checkErr(line, commit, label);
      if (!/^(shallow|unshallow) [0-9a-f]{40}\n?$/.test(text)) throw protocolError(label, `expected a shallow line, found "${text.slice(0, 60)}"`);
    }
  }
  const ack = reader.next();
  const ackText = ack === 'flush' ? '' : checkErr(ack, commit, label);
  if (!/^NAK\n?$/.test(ackText)) throw protocolError(label, `expected NAK, found "${ackText.slice(0, 60)}"`);
  const chunks: Uint8Array[] = [];
  if (!sideBand) {
    chunks.push(result.subarray(reader.offset));
  } else {
    for (;;) {
      const line = reader.next();
      if (line === 'flush') break;
      const band = line[0];
      if (band === 1) chunks.push(line.subarray(1));
      else if (band === 3) throw remoteError(new TextDecoder().decode(line.subarray(1)).trim(), commit, label);
      else if (band !== 2) throw protocolError(label, `unknown side-band ${band}`);
    }
  }
  return checkPack(Buffer.concat(chunks), label);
}

/** A pkt-line data payload is "ERR …": the server refused. */
function checkErr(line: Uint8Array, commit: string, label: string): string {
  const text = new TextDecoder().decode(line);
  if (text.startsWith('ERR ')) throw remoteError(text.slice(4).trim(), commit, label);
  return text;
}

function remoteError(message: string, commit: string, label: string): Error {
  if (/not our ref/.test(message)) {
    return new FloxmetaBranchMovedError(`${label}: the branch moved while being read: commit ${commit} is no longer on it (history rewritten); retry to read the new tip`);
  }
  return new FloxmetaTransportError(`${label}: the server refused the fetch: ${message.slice(0, 200)}`);
}

/** A pack file: "PACK", version 2 or 3, and a trailing SHA-1 of everything before it. */
function checkPack(pack: Buffer, label: string): Uint8Array {
  if (pack.length < 32 || pack.toString('latin1', 0, 4) !== 'PACK' || ![2, 3].includes(pack.readUInt32BE(4))) {
    throw protocolError(label, 'the response carries no pack');
  }
  const trailer = pack.subarray(pack.length - 20);
  const sum = createHash('sha1').update(pack.subarray(0, pack.length - 20)).digest();
  if (!sum.equals(trailer)) throw protocolError(label, 'the pack checksum does not match its contents');
  return new Uint8Array(pack.buffer, pack.byteOffset, pack.byteLength);
}
