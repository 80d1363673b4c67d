import { type Dispatcher, request } from 'undici';
import { CacheHttpError } from './errors.ts';
import { RetryableError } from './retry.ts';

/** GET `url`; returns the body of a 200, `undefined` for "not here" statuses, throws otherwise (5xx/429 retryable). */
export async function get(
  dispatcher: Dispatcher,
  url: string,
  headers: Record<string, string>,
  signal: AbortSignal | undefined,
): Promise<Dispatcher.ResponseData['body'] | undefined> {
  const res = await request(url, { dispatcher, headers, signal, method: 'GET' });
  if (res.statusCode === 200) return res.body;
  // Drain so the connection can be reused.
  await res.body.dump({ limit: 64 * 1024 }).catch(() => undefined);
  // Nix treats 403 like 404 (S3 answers 403 for missing keys).
  if (res.statusCode === 404 || res.statusCode === 403 || res.statusCode === 410) return undefined;
  const message = `GET ${url} answered HTTP ${res.statusCode}`;
  if (res.statusCode >= 500 || res.statusCode === 429 || res.statusCode === 408) throw new RetryableError(message);
  throw new CacheHttpError(`${message}; check the cache URL and credentials`);
}

/**
 * Destroys a response body nobody will read. Destroying an undici body makes it emit a late
 * 'error' ("Request aborted"); without a listener that is an uncaught exception, which ends the
 * process (or the fetch worker).
 */
export function discard(body: Dispatcher.ResponseData['body']): void {
  body.on('error', () => {});
  body.destroy();
}

/** Read a small body as text, refusing more than `limit` bytes. */
export async function smallText(body: Dispatcher.ResponseData['body'], limit: number, url: string): Promise<string> {
  const parts: Buffer[] = [];
  let size = 0;
  for await (const chunk of body as AsyncIterable<Buffer>) {
    size += chunk.length;
    if (size > limit) {
      discard(body);
      throw new CacheHttpError(`GET ${url}: body larger than ${limit} bytes; this is not a narinfo`);
    }
    parts.push(chunk);
  }
  return Buffer.concat(parts).toString('utf8');
}
