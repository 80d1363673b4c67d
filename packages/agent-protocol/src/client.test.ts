import { createServer, type Server, type ServerResponse } from 'node:http';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, afterEach, describe, expect, it } from 'vitest';
import { formatRealiseEvent, NDJSON_CONTENT_TYPE, REALISE_PATH, realiseRequestSchema, realiseViaAgent, type RealiseProgress } from './index.ts';

const dir = mkdtempSync(join(tmpdir(), 'flox-agent-proto-'));
const socket = join(dir, 'agent.sock');
const storePath = '/nix/store/pnzqx8if4bq311b03hp9pvkwy1vjvkp3-hello-flox-1.0';
const request = { storePaths: [storePath], environment: 'acme/hello:3', digest: 'a'.repeat(64) };
let server: Server | undefined;

afterEach(async () => {
  await new Promise((r) => (server === undefined ? r(undefined) : server.close(r)));
  server = undefined;
});
afterAll(() => rmSync(dir, { recursive: true, force: true }));

/** A real HTTP server on a unix socket that answers with `respond`. */
async function serve(respond: (body: unknown, res: ServerResponse) => void): Promise<Array<{ method?: string; url?: string }>> {
  const seen: Array<{ method?: string; url?: string }> = [];
  server = createServer((req, res) => {
    seen.push({ method: req.method, url: req.url });
    let body = '';
    req.on('data', (c: Buffer) => (body += c.toString()));
    req.on('end', () => respond(JSON.parse(body), res));
  });
  rmSync(socket, { force: true });
  await new Promise<void>((r) => server?.listen(socket, r));
  return seen;
}

describe('realiseViaAgent', () => {
  it('posts the request and returns the done line after progress lines', async () => {
    let received: unknown;
    const seen = await serve((body, res) => {
      received = body;
      res.writeHead(200, { 'content-type': NDJSON_CONTENT_TYPE });
      res.write(formatRealiseEvent({ type: 'progress', phase: 'fetch', storePath, bytes: 10 }));
      // A line split across writes must still parse.
      const done = formatRealiseEvent({ type: 'done', closure: [storePath], fetched: [storePath], present: [] });
      res.write(done.slice(0, 10));
      setTimeout(() => res.end(done.slice(10)), 20);
    });
    const progress: RealiseProgress[] = [];
    const done = await realiseViaAgent(socket, request, { onProgress: (e) => progress.push(e) });
    expect(seen).toEqual([{ method: 'POST', url: REALISE_PATH }]);
    expect(realiseRequestSchema.parse(received)).toEqual(request);
    expect(progress).toEqual([{ type: 'progress', phase: 'fetch', storePath, bytes: 10 }]);
    expect(done).toEqual({ type: 'done', closure: [storePath], fetched: [storePath], present: [] });
  });

  it('turns an error line into RealiseFailedError with the agent code', async () => {
    await serve((_body, res) => {
      res.writeHead(200, { 'content-type': NDJSON_CONTENT_TYPE });
      res.end(formatRealiseEvent({ type: 'error', code: 'FLOXK8S_NAR_HASH_MISMATCH', message: 'NarHash mismatch for x' }));
    });
    await expect(realiseViaAgent(socket, request)).rejects.toMatchObject({ code: 'FLOXK8S_NAR_HASH_MISMATCH', message: 'node agent: NarHash mismatch for x' });
  });

  it('reports lines outside the protocol and streams that end early', async () => {
    await serve((_body, res) => res.writeHead(200).end('{"type":"done","closure":["/etc/passwd"]}\n'));
    await expect(realiseViaAgent(socket, request)).rejects.toMatchObject({ code: 'FLOXK8S_AGENT_PROTOCOL', message: expect.stringContaining('closure[0]') });
    await new Promise((r) => server?.close(r));
    await serve((_body, res) => res.writeHead(200).end(formatRealiseEvent({ type: 'progress' })));
    await expect(realiseViaAgent(socket, request)).rejects.toMatchObject({ code: 'FLOXK8S_AGENT_PROTOCOL', message: expect.stringContaining('before a done or error line') });
  });

  it('says unavailable when no agent listens', async () => {
    await expect(realiseViaAgent(join(dir, 'absent.sock'), request)).rejects.toMatchObject({ code: 'FLOXK8S_AGENT_UNAVAILABLE' });
  });

  it('rejects an invalid request before sending it', async () => {
    await expect(realiseViaAgent(socket, { ...request, storePaths: ['/etc'] })).rejects.toMatchObject({
      code: 'FLOXK8S_AGENT_PROTOCOL',
      message: expect.stringContaining('storePaths[0]: expected a /nix/store path'),
    });
  });
});
