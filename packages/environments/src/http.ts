import type { IncomingMessage } from 'node:http';
import { readSecret, type HubSource } from '@flox-k8s/config';
import { EnvironmentSourceError } from './errors.ts';

/** One request to a hub; the response is the caller's to read or `resume()`. */
export function hubRequest(
  url: URL,
  init: { method: 'GET' | 'PUT'; headers: Record<string, string>; timeoutMs: number; label: string; body?: Uint8Array; signal?: AbortSignal },
): Promise<IncomingMessage> {
  // node:http(s) rather than fetch: fetch loads undici, which costs start-up time on the create path.
  const request = url.protocol === 'https:' ? process.getBuiltinModule('node:https').request : process.getBuiltinModule('node:http').request;
  const headers = init.body === undefined ? init.headers : { ...init.headers, 'content-length': String(init.body.length) };
  return new Promise((resolve, reject) => {
    // `signal` aborts the request and its response body (a caller's deadline).
    const req = request(url, { method: init.method, headers, timeout: init.timeoutMs, agent: false, signal: init.signal }, resolve);
    req.on('timeout', () => req.destroy(new EnvironmentSourceError(`${init.label}: no answer within ${init.timeoutMs} ms`)));
    req.on('error', (error) =>
      reject(error instanceof EnvironmentSourceError ? error : new EnvironmentSourceError(`${init.label}: ${error.message}`, { cause: error })),
    );
    req.end(init.body);
  });
}

/** A hub's base URL with a trailing slash, so relative layout paths resolve below it. */
export function hubBase(source: HubSource): string {
  return source.url.endsWith('/') ? source.url : `${source.url}/`;
}

/**
 * How a hub is named in messages: its URL without user info, query or fragment, so an
 * error never carries a password someone put in the URL.
 */
export function hubLabel(source: HubSource): string {
  const url = new URL(source.url);
  if (url.username === '' && url.password === '' && url.search === '' && url.hash === '') return `hub ${source.url}`;
  return `hub ${url.protocol}//${url.host}${url.pathname}`;
}

/** The hub's request headers: a bearer token read once from `tokenFile`, when set. */
export function hubHeaders(source: HubSource): () => Promise<Record<string, string>> {
  let token: Promise<string> | undefined;
  return async () => {
    const headers: Record<string, string> = { accept: '*/*' };
    if (source.tokenFile !== undefined) {
      token ??= readSecret(source.tokenFile);
      headers['authorization'] = `Bearer ${await token}`;
    }
    return headers;
  };
}

/** The hint for an HTTP status a hub answered with. */
export function statusHint(status: number | undefined): string {
  return status === 401 || status === 403 ? '; check the hub token file' : '';
}
