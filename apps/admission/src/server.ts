// The webhook's HTTPS server: POST /validate and /mutate take an AdmissionReview v1 and
// answer one; GET /healthz and /readyz. Every request is hostile until checked: a body
// over the limit is 413 (refused by Content-Length, or cut off mid-stream), a client that
// does not send its whole request within the limit gets 408 (Node's requestTimeout), a
// body that is not JSON or not an AdmissionReview v1 is 400, all with a coded JSON error.
// A failure inside one review is that review's 500; the process keeps serving.
import { createServer, type Server } from 'node:https';
import type { IncomingMessage, ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { formatIssues } from '@flox-k8s/core';
import { BodyTooLargeError, codeOf, RequestTimeoutError, ReviewInvalidError } from './errors.ts';
import { admissionReviewSchema, reviewResponse, type AdmissionRequest, type Verdict } from './review.ts';
import type { TlsPair } from './tls.ts';

export interface ServerOptions {
  host: string;
  port: number;
  tls: TlsPair;
  maxBodyBytes: number;
  requestTimeoutMs: number;
  /** How often Node looks for requests past their timeout (default 1 s). */
  timeoutCheckMs?: number;
  review(request: AdmissionRequest, mode: 'validate' | 'mutate'): Promise<Verdict>;
  ready(): boolean;
  onReview?(event: { mode: string; uid: string; kind: string; namespace: string | undefined; allowed: boolean; patched: boolean; ms: number; message?: string }): void;
  onBadRequest?(event: { path: string; status: number; code: string; message: string }): void;
}

export interface AdmissionServer {
  url: string;
  server: Server;
  setTls(pair: TlsPair): void;
  close(): Promise<void>;
}

function sendJson(res: ServerResponse, status: number, body: unknown): void {
  if (res.headersSent || res.destroyed) return;
  const text = JSON.stringify(body);
  res.writeHead(status, { 'content-type': 'application/json', 'content-length': Buffer.byteLength(text) });
  res.end(text);
}

function readBody(req: IncomingMessage, limit: number): Promise<Buffer> {
  const declared = Number(req.headers['content-length']);
  if (Number.isFinite(declared) && declared > limit) return Promise.reject(new BodyTooLargeError(`the body is ${declared} bytes, over the ${limit}-byte limit`));
  return new Promise((resolve, reject) => {
    const chunks: Buffer[] = [];
    let size = 0;
    req.on('data', (chunk: Buffer) => {
      size += chunk.length;
      if (size > limit) {
        req.removeAllListeners('data');
        req.resume();
        reject(new BodyTooLargeError(`the body is over the ${limit}-byte limit`));
      } else chunks.push(chunk);
    });
    req.on('end', () => resolve(Buffer.concat(chunks)));
    req.on('error', reject);
  });
}

async function handleReview(req: IncomingMessage, res: ServerResponse, mode: 'validate' | 'mutate', options: ServerOptions): Promise<void> {
  const type = (req.headers['content-type'] ?? '').split(';')[0]!.trim();
  if (type !== 'application/json') throw new ReviewInvalidError(`expected content-type application/json, found ${JSON.stringify(type)}`, 415);
  const body = await readBody(req, options.maxBodyBytes);
  let json: unknown;
  try {
    json = JSON.parse(body.toString('utf8'));
  } catch (error) {
    throw new ReviewInvalidError(`the body is not JSON: ${(error as Error).message}`);
  }
  const parsed = admissionReviewSchema.safeParse(json);
  if (!parsed.success) throw new ReviewInvalidError(`the body is not an AdmissionReview admission.k8s.io/v1: ${formatIssues(parsed.error)}`);
  const { request } = parsed.data;
  const started = performance.now();
  const verdict = await options.review(request, mode);
  sendJson(res, 200, reviewResponse(request.uid, verdict));
  options.onReview?.({
    mode,
    uid: request.uid,
    kind: request.kind.kind,
    namespace: request.namespace,
    allowed: verdict.allowed,
    patched: verdict.allowed && (verdict.patch?.length ?? 0) > 0,
    ms: Math.round(performance.now() - started),
    ...(verdict.allowed ? {} : { message: verdict.message }),
  });
}

/** Start serving; resolves once listening. */
export async function startAdmissionServer(options: ServerOptions): Promise<AdmissionServer> {
  const server = createServer(
    {
      cert: options.tls.cert,
      key: options.tls.key,
      requestTimeout: options.requestTimeoutMs,
      headersTimeout: options.requestTimeoutMs,
      connectionsCheckingInterval: options.timeoutCheckMs ?? 1_000,
    },
    (req, res) => {
      const path = (req.url ?? '/').split('?')[0];
      const fail = (error: unknown): void => {
        const status = error instanceof BodyTooLargeError ? 413 : error instanceof ReviewInvalidError ? error.status : 500;
        const code = codeOf(error);
        const message = status === 500 ? `internal error: ${(error as Error).message}` : (error as Error).message;
        options.onBadRequest?.({ path: path ?? '', status, code, message });
        sendJson(res, status, { error: { code, message } });
        // Do not read the rest of an oversized body.
        if (status === 413) res.on('finish', () => req.destroy());
      };
      if (path === '/validate' || path === '/mutate') {
        if (req.method !== 'POST') return fail(new ReviewInvalidError(`${path} takes POST`, 405));
        handleReview(req, res, path === '/validate' ? 'validate' : 'mutate', options).catch(fail);
      } else if (path === '/healthz' && req.method === 'GET') {
        sendJson(res, 200, { status: 'ok' });
      } else if (path === '/readyz' && req.method === 'GET') {
        const ready = options.ready();
        sendJson(res, ready ? 200 : 503, { status: ready ? 'ready' : 'not ready' });
      } else {
        fail(new ReviewInvalidError(`no such endpoint ${JSON.stringify(path?.slice(0, 100))}: POST /validate or /mutate`, 404));
      }
    },
  );
  // A client that breaks HTTP framing or sends too slowly gets a coded answer and a closed
  // socket; a broken TLS handshake only the closed socket.
  server.on('clientError', (error: NodeJS.ErrnoException, socket) => {
    const timeout = error.code === 'ERR_HTTP_REQUEST_TIMEOUT';
    const status = timeout ? 408 : error.code === 'HPE_HEADER_OVERFLOW' ? 431 : 400;
    const failure = timeout ? new RequestTimeoutError(`the request did not arrive whole within ${options.requestTimeoutMs} ms`) : new ReviewInvalidError(`malformed HTTP request (${error.code ?? 'error'})`, status);
    options.onBadRequest?.({ path: '', status, code: failure.code, message: failure.message });
    if (socket.writable) {
      const text = JSON.stringify({ error: { code: failure.code, message: failure.message } });
      socket.end(`HTTP/1.1 ${status} ${timeout ? 'Request Timeout' : 'Bad Request'}\r\ncontent-type: application/json\r\ncontent-length: ${Buffer.byteLength(text)}\r\nconnection: close\r\n\r\n${text}`);
    } else socket.destroy();
  });
  server.on('tlsClientError', (_error, socket) => socket.destroy());
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(options.port, options.host, () => resolve());
  });
  const { port } = server.address() as AddressInfo;
  return {
    url: `https://${options.host === '0.0.0.0' ? '127.0.0.1' : options.host}:${port}`,
    server,
    setTls: (pair) => server.setSecureContext({ cert: pair.cert, key: pair.key }),
    close: () =>
      new Promise((resolve) => {
        server.closeAllConnections();
        server.close(() => resolve());
      }),
  };
}
