import { chmod, mkdir, rm } from 'node:fs/promises';
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import { dirname } from 'node:path';
import { formatRealiseEvent, NDJSON_CONTENT_TYPE, REALISE_PATH, realiseRequestSchema, type RealiseEvent } from '@flox-k8s/agent-protocol';
import { codeLabel, RealiseRequestInvalidError } from '../errors.ts';
import type { RealiseCoordinator } from './coordinator.ts';

/** Largest accepted request body: 100 000 store paths of ~100 bytes each, with room to spare. */
export const MAX_REQUEST_BYTES = 16 * 1024 * 1024;

export interface RealiseSocketOptions {
  socketPath: string;
  coordinator: RealiseCoordinator;
  /** Progress lines are rate-limited to one per interval per client (default 250 ms); the last one always goes out. */
  progressIntervalMs?: number;
  onRequest?: (info: { environment: string; outcome: 'done' | 'error' | 'invalid' | 'cancelled'; code?: string }) => void;
  /** A server error after listening (e.g. EMFILE on accept), or a handler that failed: reported, the server keeps serving. */
  onError?: (error: unknown) => void;
}

export interface RealiseSocket {
  socketPath: string;
  close(): Promise<void>;
}

function send(res: ServerResponse, status: number, event: RealiseEvent): void {
  if (!res.headersSent) res.writeHead(status, { 'content-type': NDJSON_CONTENT_TYPE });
  res.end(formatRealiseEvent(event));
}

function readBody(req: IncomingMessage, limit: number): Promise<string> {
  return new Promise((resolve, reject) => {
    const chunks: Buffer[] = [];
    let size = 0;
    req.on('data', (chunk: Buffer) => {
      size += chunk.length;
      if (size > limit) {
        reject(new RealiseRequestInvalidError(`expected a request body of at most ${limit} bytes, found more`));
        req.destroy();
        return;
      }
      chunks.push(chunk);
    });
    req.on('end', () => resolve(Buffer.concat(chunks).toString('utf8')));
    req.on('error', reject);
  });
}

function parseRequest(text: string): ReturnType<typeof realiseRequestSchema.parse> {
  let json: unknown;
  try {
    json = JSON.parse(text);
  } catch (error) {
    throw new RealiseRequestInvalidError(`expected a JSON body, found: ${text.slice(0, 80)}`, { cause: error });
  }
  const parsed = realiseRequestSchema.safeParse(json);
  if (!parsed.success) {
    const issues = parsed.error.issues.slice(0, 5).map((i) => `${i.path.join('.') || '(body)'}: ${i.message}`);
    throw new RealiseRequestInvalidError(`expected { storePaths, environment, digest }, found problems: ${issues.join('; ')}`);
  }
  return parsed.data;
}

async function handle(req: IncomingMessage, res: ServerResponse, options: RealiseSocketOptions): Promise<void> {
  const url = req.url ?? '';
  if (url !== REALISE_PATH) return send(res, 404, { type: 'error', code: 'FLOXK8S_AGENT_NOT_FOUND', message: `expected POST ${REALISE_PATH}, found ${req.method} ${url.slice(0, 100)}` });
  if (req.method !== 'POST') return send(res, 405, { type: 'error', code: 'FLOXK8S_AGENT_METHOD', message: `expected POST ${REALISE_PATH}, found ${req.method}` });
  const type = (req.headers['content-type'] ?? '').split(';')[0]?.trim();
  if (type !== 'application/json') {
    return send(res, 415, { type: 'error', code: 'FLOXK8S_AGENT_REQUEST_INVALID', message: `expected content-type application/json, found ${String(type).slice(0, 80)}` });
  }
  let job;
  try {
    job = parseRequest(await readBody(req, MAX_REQUEST_BYTES));
  } catch (error) {
    options.onRequest?.({ environment: '', outcome: 'invalid', code: codeLabel(error) });
    return send(res, 400, { type: 'error', code: codeLabel(error), message: (error as Error).message });
  }
  // The client hanging up cancels its share of the work.
  const gone = new AbortController();
  res.on('close', () => {
    if (!res.writableFinished) gone.abort();
  });
  res.writeHead(200, { 'content-type': NDJSON_CONTENT_TYPE, 'cache-control': 'no-store' });
  const interval = options.progressIntervalMs ?? 250;
  let lastProgress = 0;
  try {
    const outcome = await options.coordinator.realise(job, {
      signal: gone.signal,
      onProgress: (event) => {
        const now = performance.now();
        if (now - lastProgress < interval || res.writableEnded) return;
        lastProgress = now;
        res.write(formatRealiseEvent({ type: 'progress', ...event }));
      },
    });
    send(res, 200, { type: 'done', closure: outcome.closure, fetched: outcome.fetched, present: outcome.present, storeRoot: options.coordinator.storeRoot });
    options.onRequest?.({ environment: job.environment, outcome: 'done' });
  } catch (error) {
    const code = codeLabel(error);
    options.onRequest?.({ environment: job.environment, outcome: gone.signal.aborted ? 'cancelled' : 'error', code });
    if (!res.writableEnded && !gone.signal.aborted) send(res, 200, { type: 'error', code, message: (error as Error).message ?? String(error) });
  }
}

/**
 * Serve `@flox-k8s/agent-protocol`'s realise protocol on a unix socket. The socket's directory is made 0700 and
 * the socket 0600 before it can be reached, so only root (the shim) can connect.
 */
export async function listenRealiseSocket(options: RealiseSocketOptions): Promise<RealiseSocket> {
  const { socketPath } = options;
  await mkdir(dirname(socketPath), { recursive: true, mode: 0o700 });
  await chmod(dirname(socketPath), 0o700);
  await rm(socketPath, { force: true });
  const server: Server = createServer({ requestTimeout: 0, headersTimeout: 10_000 }, (req, res) => {
    handle(req, res, options).catch((error: unknown) => {
      options.onError?.(error);
      if (!res.writableEnded) send(res, 500, { type: 'error', code: codeLabel(error), message: String((error as Error).message ?? error) });
    });
  });
  // Bounded like any server facing untrusted input: a runaway client cannot exhaust descriptors.
  server.maxConnections = 1024;
  // The 0700 directory keeps others out during the moment between listen() and chmod().
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(socketPath, () => resolve());
  });
  server.removeAllListeners('error');
  server.on('error', (error) => options.onError?.(error));
  await chmod(socketPath, 0o600);
  return {
    socketPath,
    close: () =>
      new Promise<void>((resolve) => {
        server.closeAllConnections();
        server.close(() => resolve());
      }),
  };
}
