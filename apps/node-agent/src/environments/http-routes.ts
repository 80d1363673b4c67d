// GET /environments and GET /environments/<digest>/sbom?format=cyclonedx|spdx on the
// agent's HTTP port. Answers are JSON; every error is `{ "error": { code, message } }`
// with 400 (bad digest or format), 404 (unknown, collected, or no such path) or 500.
import type { ServerResponse } from 'node:http';
import { ENVIRONMENTS_PATH, SBOM_CONTENT_TYPES, SBOM_FORMATS, type AgentHttpError, type SbomFormat } from '@flox-k8s/agent-protocol';
import { codeLabel } from '../errors.ts';
import type { RouteHandler } from '../metrics/http-server.ts';
import { AgentHttpBadRequestError, EnvironmentNotRealisedError, EnvironmentUnknownError } from './errors.ts';
import type { EnvironmentViews } from './views.ts';

const SBOM_PATH = /^\/environments\/([^/]*)\/sbom$/;

function send(res: ServerResponse, status: number, contentType: string, body: string, head: boolean): void {
  res.writeHead(status, { 'content-type': contentType, 'content-length': Buffer.byteLength(body), 'cache-control': 'no-store' });
  res.end(head ? undefined : body);
}

function statusOf(error: unknown): number {
  if (error instanceof AgentHttpBadRequestError) return 400;
  if (error instanceof EnvironmentUnknownError || error instanceof EnvironmentNotRealisedError) return 404;
  return 500;
}

/** The route handler for `/environments…`; `onError` sees every 5xx (for logs and metrics). */
export function environmentRoutes(views: EnvironmentViews, onError: (error: unknown) => void): RouteHandler {
  return (req, res, url) => {
    const head = req.method === 'HEAD';
    try {
      if (url.pathname === ENVIRONMENTS_PATH) return send(res, 200, 'application/json', `${JSON.stringify(views.list())}\n`, head);
      const match = SBOM_PATH.exec(url.pathname);
      if (match === null) throw new EnvironmentUnknownError(`no such path ${JSON.stringify(url.pathname.slice(0, 200))}: try ${ENVIRONMENTS_PATH} or ${ENVIRONMENTS_PATH}/<digest>/sbom`);
      const digest = match[1]!;
      if (!/^[0-9a-f]{64}$/.test(digest)) throw new AgentHttpBadRequestError(`${JSON.stringify(digest.slice(0, 100))} is not a lockfile digest: expected 64 lowercase hex`);
      const format = url.searchParams.get('format') ?? 'cyclonedx';
      if (!(SBOM_FORMATS as readonly string[]).includes(format)) throw new AgentHttpBadRequestError(`format ${JSON.stringify(format.slice(0, 100))} is not one of ${SBOM_FORMATS.join(', ')}`);
      send(res, 200, SBOM_CONTENT_TYPES[format as SbomFormat], views.sbom(digest, format as SbomFormat), head);
    } catch (error) {
      const status = statusOf(error);
      if (status === 500) onError(error);
      const body: AgentHttpError = { error: { code: codeLabel(error), message: status === 500 ? `internal error: ${(error as Error).message}`.slice(0, 1000) : (error as Error).message } };
      send(res, status, 'application/json', `${JSON.stringify(body)}\n`, head);
    }
  };
}
