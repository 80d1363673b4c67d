import type { IncomingMessage } from 'node:http';
import type { HubSource } from '@flox-k8s/config';
// The deadline alone (not the binary-cache client): a warm container start reads the hub too.
import { withDeadline } from '@flox-k8s/nar/deadline';
import { EnvironmentSourceError } from './errors.ts';
import { hubBase, hubHeaders, hubLabel, hubRequest, statusHint } from './http.ts';
import type { SourceReader } from './types.ts';

/** An HTTP(S) environment hub: `GET <url>/<owner>/<name>/…`, bearer token from a file. */
export function hubSourceReader(source: HubSource): SourceReader {
  const base = hubBase(source);
  const label = hubLabel(source);
  const headers = hubHeaders(source);
  return {
    label,
    async read(relativePath, limit) {
      const url = new URL(relativePath, base);
      const init = { method: 'GET' as const, headers: await headers(), timeoutMs: source.timeoutMs, label };
      // An overall deadline besides the idle timeout: FLOXK8S_DEADLINE_EXCEEDED when it passes.
      return withDeadline(source.deadlineMs, `${label}: GET ${relativePath}`, undefined, async (signal) => {
        const res = await hubRequest(url, { ...init, signal });
        if (res.statusCode === 404) {
          res.resume();
          return undefined;
        }
        if (res.statusCode !== 200) {
          res.resume();
          throw new EnvironmentSourceError(`${label}: GET ${relativePath} answered HTTP ${res.statusCode}${statusHint(res.statusCode)}`);
        }
        return readBody(res, limit, `${label}: ${relativePath}`);
      });
    },
  };
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
