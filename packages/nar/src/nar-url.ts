import { CompressionUnsupportedError, NarUrlOutsideCacheError } from './errors.ts';
import type { Narinfo } from './narinfo.ts';
import { supportedCompressions } from './decompress.ts';

// Percent-encoded '/', '\' and '.' survive URL normalisation and a server may decode them into a
// path that leaves the cache; Nix never writes them in NAR URLs.
const ENCODED_SEPARATOR = /%(2f|5c|2e)/i;

/**
 * The URL a narinfo's NAR is fetched from, checked before anything is sent. The narinfo's `URL`
 * field is not covered by its signature, yet the request carries the cache's credentials: it must
 * resolve inside the cache (same scheme, host and port, at or below the cache URL's path, no user
 * info), else `FLOXK8S_NAR_URL_OUTSIDE_CACHE`. Absolute URLs and `//host/…` into the cache are
 * fine; other hosts, `file:` and `../` above the cache's path prefix are refused, never fetched
 * (with or without credentials: a cache does not get to make the node fetch from elsewhere).
 */
export function narUrl(narinfo: Narinfo, cacheUrl: string): string {
  const base = new URL(`${cacheUrl.replace(/\/+$/, '')}/`);
  let url: URL;
  try {
    url = new URL(narinfo.url, base);
  } catch (cause) {
    throw new NarUrlOutsideCacheError(`the narinfo of ${narinfo.storePath} has URL ${JSON.stringify(narinfo.url)}, which is not a URL`, { cause });
  }
  const inside =
    url.protocol === base.protocol &&
    url.host === base.host &&
    url.username === '' &&
    url.password === '' &&
    url.pathname.startsWith(base.pathname) &&
    !ENCODED_SEPARATOR.test(url.pathname);
  if (!inside) {
    throw new NarUrlOutsideCacheError(
      `the narinfo of ${narinfo.storePath} points its NAR at ${JSON.stringify(narinfo.url)} (${url.protocol === 'file:' ? 'a local file' : url.href}), outside the cache ${base.href}; ` +
        'NAR URLs must stay inside their cache (its credentials go with the request): the cache serves altered metadata',
    );
  }
  return url.href;
}

/** Throws `FLOXK8S_COMPRESSION_UNSUPPORTED` before a download starts for a compression we cannot decode. */
export function checkCompression(narinfo: Narinfo): void {
  if (narinfo.compression === '' || supportedCompressions.includes(narinfo.compression)) return;
  throw new CompressionUnsupportedError(
    `the narinfo of ${narinfo.storePath} says Compression: ${JSON.stringify(narinfo.compression)}, which is not supported (${supportedCompressions.join(', ')}); nothing was downloaded`,
  );
}
