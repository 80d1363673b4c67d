// A loopback HTTP server for a `file://` binary cache directory, so tests talk to
// a real HTTP binary cache (Nix's own client, or ours) without any network.
import { createReadStream } from 'node:fs';
import { readFile, readdir, stat } from 'node:fs/promises';
import { setTimeout as sleep } from 'node:timers/promises';
import { createServer, type IncomingMessage, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { join, resolve, sep } from 'node:path';

export interface ServeCacheOptions {
  /**
   * Called before the file is served, for fault injection (5xx, truncated bodies,
   * stalls). Return `true` when the hook answered the request itself.
   */
  onRequest?: (req: IncomingMessage, res: ServerResponse) => boolean | void | Promise<boolean | void>;
  /** Close the server after this long without a request (default 10 minutes): a forgotten server never outlives its test run. */
  idleCloseMs?: number;
  /**
   * Read every file into memory first and answer from there (default false). For benchmarks: a
   * file stream costs this process ~2.5 ms of CPU per MB sent here, CPU the measured client then
   * cannot use on a 2-core machine, whereas a real cache runs elsewhere.
   */
  inMemory?: boolean;
  /**
   * Send NAR bodies at about this many bytes per second (16 KiB writes, paced), so a cold
   * fetch outlasts a deadline (a slow cache, as a CRI deadline test needs). Default: no limit.
   */
  narBytesPerSecond?: number;
}

export interface ServedCache {
  /** `http://127.0.0.1:<port>`, no trailing slash. */
  url: string;
  /** Every request received, in order (including those a hook answered). */
  requests: Array<{ method: string; path: string }>;
  /** Requests whose path starts with the string, or matches the regular expression. */
  count(pathPrefixOrRegex: string | RegExp): number;
  close(): Promise<void>;
}

const contentTypes: Array<[RegExp, string]> = [
  [/^\/nix-cache-info$/, 'text/x-nix-cache-info'],
  [/\.narinfo$/, 'text/x-nix-narinfo'],
  [/^\/nar\//, 'application/x-nix-nar'],
];

/** Serves `dir` (nix-cache-info, *.narinfo, nar/*) on 127.0.0.1, port 0. GET and HEAD; 404 for anything missing. */
export async function serveCache(dir: string, opts: ServeCacheOptions = {}): Promise<ServedCache> {
  const root = resolve(dir);
  const requests: Array<{ method: string; path: string }> = [];
  const idleCloseMs = opts.idleCloseMs ?? 10 * 60_000;
  let idleTimer: NodeJS.Timeout | undefined;

  const files = opts.inMemory === true ? await readTree(root) : undefined;

  const server = createServer((req, res) => {
    armIdleTimer();
    const path = decodedPath(req.url ?? '/');
    requests.push({ method: req.method ?? 'GET', path });
    void handle(req, res, path).catch((error: unknown) => {
      if (!res.headersSent) res.writeHead(500, { 'content-type': 'text/plain' });
      res.end(`internal error: ${String(error)}\n`);
    });
  });

  async function handle(req: IncomingMessage, res: ServerResponse, path: string): Promise<void> {
    if (opts.onRequest !== undefined && (await opts.onRequest(req, res)) === true) return;
    if (req.method !== 'GET' && req.method !== 'HEAD') {
      res.writeHead(405, { allow: 'GET, HEAD', 'content-length': '0' }).end();
      return;
    }
    const file = resolve(join(root, path));
    if (!file.startsWith(root + sep)) return notFound(res);
    if (files !== undefined) {
      const bytes = files.get(file);
      if (bytes === undefined) return notFound(res);
      res.writeHead(200, { 'content-type': typeOf(path), 'content-length': String(bytes.length) });
      res.end(req.method === 'HEAD' ? undefined : bytes);
      return;
    }
    const info = await stat(file).catch(() => undefined);
    if (info === undefined || !info.isFile()) return notFound(res);
    if (opts.narBytesPerSecond !== undefined && req.method === 'GET' && path.startsWith('/nar/')) return sendPaced(res, await readFile(file), typeOf(path), opts.narBytesPerSecond);
    res.writeHead(200, { 'content-type': typeOf(path), 'content-length': String(info.size) });
    if (req.method === 'HEAD') {
      res.end();
      return;
    }
    const body = createReadStream(file);
    body.on('error', () => res.destroy());
    body.pipe(res);
  }

  function armIdleTimer(): void {
    if (idleTimer !== undefined) clearTimeout(idleTimer);
    idleTimer = setTimeout(() => void close(), idleCloseMs);
    idleTimer.unref();
  }

  let closing: Promise<void> | undefined;
  function close(): Promise<void> {
    if (idleTimer !== undefined) clearTimeout(idleTimer);
    closing ??= new Promise<void>((done) => {
      server.close(() => done());
      server.closeAllConnections();
    });
    return closing;
  }

  await new Promise<void>((listening, failed) => {
    server.once('error', failed);
    server.listen(0, '127.0.0.1', () => listening());
  });
  server.unref();
  armIdleTimer();
  const { port } = server.address() as AddressInfo;

  return {
    url: `http://127.0.0.1:${port}`,
    requests,
    count: (pattern) => {
      // A copy without g/y flags: RegExp#test on those is stateful across calls.
      const matches = typeof pattern === 'string' ? null : new RegExp(pattern.source, pattern.flags.replace(/[gy]/g, ''));
      return requests.filter(({ path }) => (matches === null ? path.startsWith(pattern as string) : matches.test(path))).length;
    },
    close,
  };
}

const typeOf = (path: string): string => contentTypes.find(([pattern]) => pattern.test(path))?.[1] ?? 'application/octet-stream';

/** Every regular file under `root`, by absolute path. */
async function readTree(root: string): Promise<Map<string, Buffer>> {
  const files = new Map<string, Buffer>();
  for (const entry of await readdir(root, { recursive: true, withFileTypes: true })) {
    if (!entry.isFile()) continue;
    const file = join(entry.parentPath, entry.name);
    files.set(file, await readFile(file));
  }
  return files;
}

function decodedPath(url: string): string {
  const pathname = new URL(url, 'http://127.0.0.1').pathname;
  try {
    return decodeURIComponent(pathname);
  } catch {
    return pathname;
  }
}

const PACED_CHUNK = 16 << 10;

/** `bytes` at about `bytesPerSecond`; stops when the client goes away. */
async function sendPaced(res: ServerResponse, bytes: Buffer, type: string, bytesPerSecond: number): Promise<void> {
  res.writeHead(200, { 'content-type': type, 'content-length': String(bytes.length) });
  const started = performance.now();
  for (let off = 0; off < bytes.length && !res.destroyed; off += PACED_CHUNK) {
    res.write(bytes.subarray(off, off + PACED_CHUNK));
    const due = ((off + PACED_CHUNK) / bytesPerSecond) * 1000 - (performance.now() - started);
    if (due > 0) await sleep(due);
  }
  res.end();
}

function notFound(res: ServerResponse): void {
  const body = '404 not found\n';
  res.writeHead(404, { 'content-type': 'text/plain', 'content-length': String(Buffer.byteLength(body)) }).end(body);
}
