import type { IncomingMessage } from 'node:http';
import { readSecret, type HubSource } from '@flox-k8s/config';
// The deadline alone (not the binary-cache client): a warm container start reads the hub too.
import { withDeadline } from '@flox-k8s/nar/deadline';
import { EnvironmentSourceError } from './errors.ts';
import type { SourceReader } from './types.ts';

/** An HTTP(S) environment hub: `GET <url>/<owner>/<name>/…`, bearer token from a file. */
export function hubSourceReader(source: HubSource): SourceReader {
  const base = source.url.endsWith('/') ? source.url : `${source.url}/`;
  const label = `hub ${source.url}`;
  let token: Promise<string> | undefined;
  return {
    label,
    async read(relativePath, limit) {
      const url = new URL(relativePath, base);
      const headers: Record<string, string> = { accept: '*/*' };
      if (source.tokenFile !== undefined) {
        token ??= readSecret(source.tokenFile);
        headers['authorization'] = `Bearer ${await token}`;
      }
      // An overall deadline besides the idle timeout: FLOXK8S_DEADLINE_EXCEEDED when it passes.
      return withDeadline(source.deadlineMs, `${label}: GET ${relativePath}`, undefined, async (signal) => {
        const res = await get(url, headers, source.timeoutMs, label, signal);
        if (res.statusCode === 404) {
          res.resume();
          return undefined;
        }
        if (res.statusCode !== 200) {
          res.resume();
          const hint = res.statusCode === 401 || res.statusCode === 403 ? '; check the hub token file' : '';
          throw new EnvironmentSourceError(`${label}: GET ${relativePath} answered HTTP ${res.statusCode}${hint}`);
        }
        return readBody(res, limit, `${label}: ${relativePath}`);
      });
    },
  };
}

function get(url: URL, headers: Record<string, string>, timeoutMs: number, label: string, signal: AbortSignal): Promise<IncomingMessage> {
  // node:http(s) rather than fetch: fetch loads undici, which costs start-up time on the create path.
  const request = url.protocol === 'https:' ? process.getBuiltinModule('node:https').request : process.getBuiltinModule('node:http').request;
  return new Promise((resolve, reject) => {
    // `signal` aborts the request and its response body (the deadline).
    const req = request(url, { method: 'GET', headers, timeout: timeoutMs, agent: false, signal }, resolve);
    req.on('timeout', () => req.destroy(new EnvironmentSourceError(`${label}: no answer within ${timeoutMs} ms`)));
    req.on('error', (error) =>
      reject(error instanceof EnvironmentSourceError ? error : new EnvironmentSourceError(`${label}: ${error.message}`, { cause: error })),
    );
    req.end();
  });
}

async function readBody(res: IncomingMessage, limit: number, what: string): Promise<Uint8Array> {
  const chunks: Buffer[] = [];
  let size = 0;
  for await (const chunk of res as AsyncIterable<Buffer>) {
    size += chunk.length;
    if (size > limit) {
      res.destroy();
      throw new EnvironmentSourceError(`${what}: larger than the ${limit}-byte limit`);
    }
    chunks.push(chunk);
  }
  return new Uint8Array(Buffer.concat(chunks));
}
