// A loopback environment hub: serves a directory with the hub layout of
// @flox-k8s/environments over HTTP, reads (GET/HEAD) and publishes (PUT, with
// `If-None-Match: *` honoured), behind an optional bearer token. What a WebDAV server or
// an object store does for a real hub, so publish and resolve talk to a real HTTP peer.
import { randomBytes } from 'node:crypto';
import { link, mkdir, readFile, rename, stat, unlink, writeFile } from 'node:fs/promises';
import { createServer, type IncomingMessage, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { dirname, join, resolve, sep } from 'node:path';

export interface ServeHubOptions {
  /** Require `Authorization: Bearer <token>` on every request (401 otherwise). */
  token?: string;
  /** Answer PUT with 405, as a static file server does. */
  readOnly?: boolean;
  /** Largest PUT body accepted (default 32 MiB); larger ones get 413. */
  maxBodyBytes?: number;
}

export interface ServedHub {
  /** `http://127.0.0.1:<port>`, no trailing slash. */
  url: string;
  /** Every request received, in order, with the Authorization header it carried. */
  requests: Array<{ method: string; path: string; authorization: string | undefined }>;
  close(): Promise<void>;
}

/** Serves `dir` as an environment hub on 127.0.0.1, port 0. */
export async function serveHub(dir: string, opts: ServeHubOptions = {}): Promise<ServedHub> {
  const root = resolve(dir);
  const maxBody = opts.maxBodyBytes ?? 32 << 20;
  const requests: ServedHub['requests'] = [];
  const server = createServer((req, res) => {
    const path = new URL(req.url ?? '/', 'http://127.0.0.1').pathname;
    requests.push({ method: req.method ?? 'GET', path, authorization: req.headers.authorization });
    void handle(req, res, path).catch((error: unknown) => {
      if (!res.headersSent) res.writeHead(500, { 'content-type': 'text/plain' });
      res.end(`internal error: ${String(error)}\n`);
    });
  });

  async function handle(req: IncomingMessage, res: ServerResponse, path: string): Promise<void> {
    if (opts.token !== undefined && req.headers.authorization !== `Bearer ${opts.token}`) return answer(res, 401);
    let file: string;
    try {
      file = resolve(join(root, decodeURIComponent(path)));
    } catch {
      return answer(res, 400);
    }
    if (!file.startsWith(root + sep)) return answer(res, 404);
    if (req.method === 'GET' || req.method === 'HEAD') {
      const body = await readFile(file).catch(() => undefined);
      if (body === undefined) return answer(res, 404);
      res.writeHead(200, { 'content-type': 'application/octet-stream', 'content-length': String(body.length) });
      res.end(req.method === 'HEAD' ? undefined : body);
      return;
    }
    if (req.method !== 'PUT' || opts.readOnly === true) return answer(res, 405);
    const chunks: Buffer[] = [];
    let size = 0;
    for await (const chunk of req as AsyncIterable<Buffer>) {
      size += chunk.length;
      if (size > maxBody) return answer(res, 413);
      chunks.push(chunk);
    }
    await mkdir(dirname(file), { recursive: true });
    const tmp = `${file}.tmp-${randomBytes(6).toString('hex')}`;
    await writeFile(tmp, Buffer.concat(chunks));
    if (req.headers['if-none-match'] === '*') {
      // Create only: link() fails on an existing name, so of two racing PUTs exactly one wins.
      const created = await link(tmp, file).then(() => true, (error: NodeJS.ErrnoException) => {
        if (error.code === 'EEXIST') return false;
        throw error;
      }).finally(() => unlink(tmp));
      return answer(res, created ? 201 : 412);
    }
    const exists = await stat(file).then(() => true, () => false);
    await rename(tmp, file);
    answer(res, exists ? 204 : 201);
  }

  await new Promise<void>((listening, failed) => {
    server.once('error', failed);
    server.listen(0, '127.0.0.1', () => listening());
  });
  server.unref();
  const { port } = server.address() as AddressInfo;
  let closing: Promise<void> | undefined;
  return {
    url: `http://127.0.0.1:${port}`,
    requests,
    close: () =>
      (closing ??= new Promise<void>((done) => {
        server.close(() => done());
        server.closeAllConnections();
      })),
  };
}

function answer(res: ServerResponse, status: number): void {
  res.writeHead(status, { 'content-length': '0' }).end();
}
