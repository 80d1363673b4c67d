// A real git smart-HTTP server on loopback: Node answers HTTP, `git http-backend` (the
// CGI program that ships with git) answers the git protocol, so clients under test talk
// to the same upload-pack a git hosting service runs.
import { spawn } from 'node:child_process';
import { createServer, type IncomingMessage, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { resolve } from 'node:path';
import { gitProcessEnv } from './env.ts';

export interface ServeGitOptions {
  /** Directory holding the bare repositories, e.g. `<root>/<owner>/floxmeta` (`GIT_PROJECT_ROOT`). */
  root: string;
  /**
   * When set, every request must carry `Authorization: Basic base64("oauth:<token>")`, what
   * Flox's git credential helper makes git send to FloxHub; anything else gets a 401.
   */
  token?: string;
  /**
   * Called before a request is handed to git (fault injection: answer it, stall, move a
   * branch in between). Return `true` when the hook answered the request itself.
   */
  onRequest?: (req: IncomingMessage, res: ServerResponse) => boolean | void | Promise<boolean | void>;
  /** Close the server after this long without a request (default 10 minutes): a forgotten server never outlives its run. */
  idleCloseMs?: number;
}

export interface GitRequest {
  method: string;
  /** Path without the query, e.g. `/acme/floxmeta/info/refs`. */
  path: string;
  query: string;
  /** The Authorization header as received (tests check where a token went). */
  authorization: string | undefined;
}

export interface GitServer {
  /** `http://127.0.0.1:<port>`, no trailing slash; a repository is `${url}/<owner>/floxmeta`. */
  url: string;
  /** Every request received, in order (including those a hook answered or auth refused). */
  requests: GitRequest[];
  /** Requests whose path starts with the string, or matches the regular expression. */
  count(pathPrefixOrRegex: string | RegExp): number;
  close(): Promise<void>;
}

/** The Authorization header value Flox's credential helper leads git to send for `token`. */
export function floxhubAuthorization(token: string): string {
  return `Basic ${Buffer.from(`oauth:${token}`).toString('base64')}`;
}

/** Serves the bare repositories under `root` over git's smart HTTP protocol on 127.0.0.1, port 0. */
export async function serveGit(options: ServeGitOptions): Promise<GitServer> {
  const root = resolve(options.root);
  const requests: GitRequest[] = [];
  const expected = options.token === undefined ? undefined : floxhubAuthorization(options.token);
  const idleCloseMs = options.idleCloseMs ?? 10 * 60_000;
  let idleTimer: NodeJS.Timeout | undefined;

  const server = createServer((req, res) => {
    armIdleTimer();
    const url = new URL(req.url ?? '/', 'http://127.0.0.1');
    requests.push({ method: req.method ?? 'GET', path: url.pathname, query: url.search.slice(1), authorization: req.headers.authorization });
    void handle(req, res, url).catch((error: unknown) => {
      if (!res.headersSent) res.writeHead(500, { 'content-type': 'text/plain' });
      res.end(`internal error: ${String(error)}\n`);
    });
  });

  async function handle(req: IncomingMessage, res: ServerResponse, url: URL): Promise<void> {
    if (options.onRequest !== undefined && (await options.onRequest(req, res)) === true) return;
    if (expected !== undefined && req.headers.authorization !== expected) {
      req.resume();
      res.writeHead(401, { 'www-authenticate': 'Basic realm="floxhub"', 'content-type': 'text/plain' }).end('authentication required\n');
      return;
    }
    await bridge(req, res, url, root);
  }

  function armIdleTimer(): void {
    if (idleTimer !== undefined) clearTimeout(idleTimer);
    idleTimer = setTimeout(() => server.close(), idleCloseMs);
    idleTimer.unref();
  }

  await new Promise<void>((ready) => server.listen(0, '127.0.0.1', ready));
  armIdleTimer();
  const { port } = server.address() as AddressInfo;
  return {
    url: `http://127.0.0.1:${port}`,
    requests,
    count: (match) => requests.filter((r) => (typeof match === 'string' ? r.path.startsWith(match) : match.test(r.path))).length,
    close: () =>
      new Promise<void>((done) => {
        if (idleTimer !== undefined) clearTimeout(idleTimer);
        server.closeAllConnections();
        server.close(() => done());
      }),
  };
}

/** Runs `git http-backend` for one request (RFC 3875 CGI): request body in, CGI headers and body out. */
function bridge(req: IncomingMessage, res: ServerResponse, url: URL, root: string): Promise<void> {
  const env = gitProcessEnv({
    GIT_PROJECT_ROOT: root,
    GIT_HTTP_EXPORT_ALL: '1',
    GATEWAY_INTERFACE: 'CGI/1.1',
    REQUEST_METHOD: req.method ?? 'GET',
    PATH_INFO: decodeURIComponent(url.pathname),
    QUERY_STRING: url.search.slice(1),
    REMOTE_ADDR: req.socket.remoteAddress ?? '127.0.0.1',
    ...(req.headers['content-type'] === undefined ? {} : { CONTENT_TYPE: req.headers['content-type'] }),
    ...(req.headers['content-length'] === undefined ? {} : { CONTENT_LENGTH: req.headers['content-length'] }),
    ...(req.headers['content-encoding'] === undefined ? {} : { HTTP_CONTENT_ENCODING: req.headers['content-encoding'] }),
    ...(typeof req.headers['git-protocol'] === 'string' ? { GIT_PROTOCOL: req.headers['git-protocol'] } : {}),
  });
  return new Promise((done, fail) => {
    const child = spawn('git', ['http-backend'], { env, stdio: ['pipe', 'pipe', 'pipe'] });
    let head = Buffer.alloc(0);
    let headersDone = false;
    let stderr = '';
    child.stderr.on('data', (chunk: Buffer) => (stderr += chunk.toString()));
    child.stdout.on('data', (chunk: Buffer) => {
      if (headersDone) {
        res.write(chunk);
        return;
      }
      head = Buffer.concat([head, chunk]);
      const end = headerEnd(head);
      if (end === undefined) return;
      headersDone = true;
      writeCgiHead(res, head.subarray(0, end.at).toString('latin1'));
      res.write(head.subarray(end.at + end.length));
    });
    child.on('error', fail);
    child.on('close', (code) => {
      if (!headersDone) {
        if (!res.headersSent) res.writeHead(500, { 'content-type': 'text/plain' });
        res.end(`git http-backend exited ${code} without a response: ${stderr}\n`);
      } else {
        res.end();
      }
      done();
    });
    // A client that hangs up must not leave the CGI child waiting for input.
    req.on('error', () => child.kill());
    req.pipe(child.stdin);
    child.stdin.on('error', () => undefined);
  });
}

function headerEnd(buffer: Buffer): { at: number; length: number } | undefined {
  const crlf = buffer.indexOf('\r\n\r\n');
  const lf = buffer.indexOf('\n\n');
  if (crlf !== -1 && (lf === -1 || crlf < lf)) return { at: crlf, length: 4 };
  if (lf !== -1) return { at: lf, length: 2 };
  return undefined;
}

function writeCgiHead(res: ServerResponse, text: string): void {
  let status = 200;
  const headers: Record<string, string> = {};
  for (const line of text.split(/\r?\n/)) {
    const colon = line.indexOf(':');
    if (colon <= 0) continue;
    const name = line.slice(0, colon).trim().toLowerCase();
    const value = line.slice(colon + 1).trim();
    if (name === 'status') status = Number.parseInt(value, 10) || 500;
    else headers[name] = value;
  }
  res.writeHead(status, headers);
}
