// Publishing over HTTP uses the layout the readers use, written with plain PUTs, so any
// server that takes PUT onto its document root (WebDAV, an object store) can be a hub:
//   1. GET  <owner>/<name>/live                         the current generation N (404: none yet)
//   2. PUT  <owner>/<name>/generations/<N+1>/manifest.lock   with `If-None-Match: *`: create only,
//      so two publishers never overwrite one generation (412: taken, try the next number)
//      then, with `sbom`, PUT the generation's SBOMs beside it (made before the generation is claimed)
//   3. PUT  <owner>/<name>/by-digest/<sha256 hex>       the generation number
//   4. PUT  <owner>/<name>/live                         the generation number, last, so a reader
//      never follows `live` to a generation that is not there yet
import type { HubSource } from '@flox-k8s/config';
import { lockfileDigest, parseLockfile } from '@flox-k8s/lockfile';
import { EnvironmentSourceError } from './errors.ts';
import { hubBase, hubHeaders, hubLabel, hubRequest, statusHint } from './http.ts';
import { digestPath, generationPath, livePath, parseGenerationPointer } from './layout.ts';
import type { PublishedEnvironment, PublishOptions } from './publish.ts';
import { hubSourceReader } from './hub.ts';

/** Generation numbers tried past the live one before giving up (left by failed or concurrent publishes). */
const MAX_GENERATION_ATTEMPTS = 8;

/**
 * Publishes a lockfile as the next generation of `owner/name` on an HTTP(S) hub with
 * PUTs (see the protocol above), then moves its live pointer. Same result as
 * `publishEnvironment` into the directory the hub serves.
 */
export async function publishEnvironmentToHub(
  source: HubSource,
  owner: string,
  name: string,
  bytes: Uint8Array,
  options: PublishOptions = {},
): Promise<PublishedEnvironment> {
  const lock = parseLockfile(bytes);
  const digest = lockfileDigest(bytes);
  const label = hubLabel(source);
  const base = hubBase(source);
  const headers = hubHeaders(source);
  const live = await hubSourceReader(source).read(livePath(owner, name), 64);
  const current = live === undefined ? 0 : parseGenerationPointer(Buffer.from(live).toString('utf8'), `${label}: ${livePath(owner, name)}`);

  const put = async (path: string, body: Uint8Array, extra: Record<string, string> = {}): Promise<number> => {
    const res = await hubRequest(new URL(path, base), {
      method: 'PUT',
      headers: { ...(await headers()), 'content-type': 'application/octet-stream', ...extra },
      timeoutMs: source.timeoutMs,
      label,
      body,
    });
    res.resume();
    const status = res.statusCode ?? 0;
    if (status >= 200 && status < 300) return status;
    if (status === 412 && extra['if-none-match'] !== undefined) return status;
    const hint = status === 405 || status === 501 ? '; the hub does not take PUT: serve it with a server that does (WebDAV) or publish into its directory' : statusHint(status);
    throw new EnvironmentSourceError(`${label}: PUT ${path} answered HTTP ${status}${hint}`);
  };

  for (let generation = current + 1; generation <= current + MAX_GENERATION_ATTEMPTS; generation++) {
    // The SBOMs name their generation, so they are made for each number tried, and before it
    // is claimed: a closure the caches cannot describe publishes nothing.
    const sboms = options.sbom === undefined ? new Map<string, string>() : await (await import('./publish-sbom.ts')).publishedSboms(lock, owner, name, generation, options.sbom);
    const lockPath = generationPath(owner, name, generation);
    if ((await put(lockPath, bytes, { 'if-none-match': '*' })) === 412) continue;
    const dir = lockPath.slice(0, lockPath.lastIndexOf('/') + 1);
    for (const [file, document] of sboms) await put(`${dir}${file}`, new TextEncoder().encode(document));
    const pointer = new TextEncoder().encode(`${generation}\n`);
    await put(digestPath(owner, name, digest), pointer);
    await put(livePath(owner, name), pointer);
    return { generation, digest, sboms: [...sboms.keys()].sort() };
  }
  throw new EnvironmentSourceError(
    `${label}: generations ${current + 1}..${current + MAX_GENERATION_ATTEMPTS} of ${owner}/${name} already exist past live ${current}; move live to the newest one or remove the stray generations`,
  );
}
