import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import type { Registry } from 'prom-client';

/** Named readiness checks; `/readyz` is 200 only when every one passes. */
export class Readiness {
  readonly #checks = new Map<string, boolean>();

  set(name: string, ok: boolean): void {
    this.#checks.set(name, ok);
  }

  get ready(): boolean {
    return this.#checks.size > 0 && [...this.#checks.values()].every(Boolean);
  }

  /** Each check and whether it passes, in the order they were first set. */
  checks(): Array<{ name: string; ok: boolean }> {
    return [...this.#checks].map(([name, ok]) => ({ name, ok }));
  }

  report(): string {
    return [...this.#checks].map(([name, ok]) => `[${ok ? '+' : '-'}]${name} ${ok ? 'ok' : 'failed'}`).join('\n');
  }
}

/** Answers the GET/HEAD requests under a mounted path prefix. */
export type RouteHandler = (req: IncomingMessage, res: ServerResponse, url: URL) => void;

export interface ObservabilityServer {
  url: string;
  /** Serve `prefix` and everything under it (`/environments`, `/environments/…`) with `handler`, once the agent has what it needs. */
  mount(prefix: string, handler: RouteHandler): void;
  close(): Promise<void>;
}

/** `/metrics` (Prometheus text format), `/healthz` (alive), `/readyz` (installed, watching, serving). */
export async function listenObservability(options: {
  host: string;
  port: number;
  registry: Registry;
  readiness: Readiness;
  /** A server error after listening (e.g. EMFILE on accept): reported, the server keeps its socket. */
  onError?: (error: unknown) => void;
}): Promise<ObservabilityServer> {
  const mounts = new Map<string, RouteHandler>();
  const server: Server = createServer((req, res) => {
    const path = (req.url ?? '/').split('?')[0] ?? '/';
    if (req.method !== 'GET' && req.method !== 'HEAD') {
      res.writeHead(405, { allow: 'GET, HEAD' }).end();
      return;
    }
    if (path === '/metrics') {
      options.registry.metrics().then(
        (text) => res.writeHead(200, { 'content-type': options.registry.contentType }).end(text),
        (error: unknown) => res.writeHead(500, { 'content-type': 'text/plain' }).end(String(error)),
      );
    } else if (path === '/healthz') {
      res.writeHead(200, { 'content-type': 'text/plain' }).end('ok\n');
    } else if (path === '/readyz') {
      const ready = options.readiness.ready;
      res.writeHead(ready ? 200 : 503, { 'content-type': 'text/plain' }).end(`${options.readiness.report()}\n${ready ? 'ok' : 'not ready'}\n`);
    } else {
      const prefix = [...mounts.keys()].find((p) => path === p || path.startsWith(`${p}/`));
      if (prefix === undefined) res.writeHead(404, { 'content-type': 'text/plain' }).end('not found\n');
      else mounts.get(prefix)!(req, res, new URL(req.url ?? '/', 'http://agent'));
    }
  });
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(options.port, options.host, () => resolve());
  });
  server.removeAllListeners('error');
  server.on('error', (error) => options.onError?.(error));

  const { port } = server.address() as AddressInfo;
  const host = options.host.includes(':') ? `[${options.host}]` : options.host;
  return {
    url: `http://${host === '0.0.0.0' ? '127.0.0.1' : host}:${port}`,
    mount: (prefix, handler) => void mounts.set(prefix, handler),
    close: () =>
      new Promise((resolve) => {
        server.closeAllConnections();
        server.close(() => resolve());
      }),
  };
}
