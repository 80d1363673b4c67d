import { createHash } from 'node:crypto';
import type { Dispatcher } from 'undici';
import type { ClientEvent } from './client.ts';
import { chunksOf } from './chunks.ts';
import { decompress, type DecoderOptions } from './decompress.ts';
import {
  CacheHttpError,
  FileHashMismatchError,
  FileSizeMismatchError,
  NarHashMismatchError,
  NarSizeMismatchError,
} from './errors.ts';
import { formatSha256 } from './hash.ts';
import { get } from './http.ts';
import { unpackOwnedNar } from './nar-unpack.ts';
import type { Narinfo } from './narinfo.ts';
import { removeTree } from './remove-tree.ts';

const PROGRESS_STEP = 1 << 20;

/** One download attempt: stream → (FileSize/FileHash check) → decompress → (NarSize check) → unpack + NarHash. */
export async function fetchNarOnce(args: {
  dispatcher: Dispatcher;
  url: string;
  headers: Record<string, string>;
  narinfo: Narinfo;
  dest: string;
  signal: AbortSignal | undefined;
  decoders: DecoderOptions | undefined;
  onProgress: (e: ClientEvent) => void;
}): Promise<{ narHash: string; narSize: number; fileSize: number }> {
  const { narinfo, url } = args;
  const body = await get(args.dispatcher, url, args.headers, args.signal);
  if (body === undefined) throw new CacheHttpError(`GET ${url}: the NAR named by the narinfo of ${narinfo.storePath} is missing from the cache`);
  let bytesIn = 0;
  let bytesOut = 0;
  let lastReport = 0;
  const report = (done: boolean): void => {
    if (!done && bytesIn + bytesOut - lastReport < PROGRESS_STEP) return;
    lastReport = bytesIn + bytesOut;
    args.onProgress({ type: 'progress', storePath: narinfo.storePath, bytesIn, bytesOut, fileSize: narinfo.fileSize, narSize: narinfo.narSize, done });
  };
  const fileHash = createHash('sha256');
  const compressed = async function* (): AsyncGenerator<Uint8Array> {
    for await (const chunk of chunksOf(body)) {
      bytesIn += chunk.length;
      if (narinfo.fileSize !== undefined && bytesIn > narinfo.fileSize) {
        throw new FileSizeMismatchError(`${url}: more than the ${narinfo.fileSize} bytes the narinfo's FileSize promises; the cache serves a different file`);
      }
      fileHash.update(chunk);
      report(false);
      yield chunk;
    }
  };
  const nar = async function* (): AsyncGenerator<Uint8Array> {
    for await (const chunk of decompress(narinfo.compression, compressed(), args.decoders, { narSize: narinfo.narSize })) {
      bytesOut += chunk.length;
      if (bytesOut > narinfo.narSize) {
        throw new NarSizeMismatchError(`NAR of ${narinfo.storePath} is larger than the narinfo's NarSize ${narinfo.narSize}; the cache serves a different NAR`);
      }
      report(false);
      yield chunk;
    }
  };
  try {
    // The decoded chunks pass only through nar() above: nothing else keeps them, so they can be freed once written.
    const digest = await unpackOwnedNar(nar(), args.dest, { signal: args.signal }, true);
    if (narinfo.fileSize !== undefined && bytesIn !== narinfo.fileSize) {
      throw new FileSizeMismatchError(`${url}: downloaded ${bytesIn} bytes, the narinfo's FileSize is ${narinfo.fileSize}`);
    }
    const gotFileHash = formatSha256(fileHash.digest());
    if (narinfo.fileHash !== undefined && gotFileHash !== narinfo.fileHash) {
      throw new FileHashMismatchError(`${url}: FileHash is ${gotFileHash}, the narinfo says ${narinfo.fileHash}; the file was altered or corrupted`);
    }
    if (digest.narSize !== narinfo.narSize) {
      throw new NarSizeMismatchError(`NAR of ${narinfo.storePath} is ${digest.narSize} bytes, the narinfo's NarSize is ${narinfo.narSize}`);
    }
    if (digest.narHash !== narinfo.narHash) {
      throw new NarHashMismatchError(`NAR of ${narinfo.storePath} hashes to ${digest.narHash}, the narinfo says ${narinfo.narHash}; the cache served altered content`);
    }
    report(true);
    return { narHash: digest.narHash, narSize: digest.narSize, fileSize: bytesIn };
  } catch (err) {
    body.destroy();
    await removeTree(args.dest).catch(() => undefined);
    throw err;
  }
}
