// GET /status on the agent's HTTP port: what `flox-k8s status` shows per node. Everything is
// read at request time (store records are cached, so this is two directory listings and a
// statfs) except the GC passes, which the GC loop reports as they end.
import type { ServerResponse } from 'node:http';
import { STATUS_PATH, type AgentHttpError, type NodeStatus } from '@flox-k8s/agent-protocol';
import type { Store } from '@flox-k8s/store';
import { codeLabel } from '../errors.ts';
import { diskUsage, type DiskUsage } from '../gc/gc-loop.ts';
import type { Readiness, RouteHandler } from '../metrics/http-server.ts';
import type { GcHistory } from './gc-history.ts';

export interface StatusSource {
  node: string;
  system: string;
  version: string;
  startedAt: Date;
  readiness: Readiness;
  store: Pick<Store, 'root' | 'usage'>;
  gc: { intervalSeconds: number; highWatermark: number; lowWatermark: number; history: GcHistory };
  /** The store's file system (default statfs of the store root). */
  disk?: () => Promise<DiskUsage>;
}

function send(res: ServerResponse, status: number, body: unknown, head: boolean): void {
  const text = `${JSON.stringify(body)}\n`;
  res.writeHead(status, { 'content-type': 'application/json', 'content-length': Buffer.byteLength(text), 'cache-control': 'no-store' });
  res.end(head ? undefined : text);
}

export async function nodeStatus(source: StatusSource): Promise<NodeStatus> {
  const usage = source.store.usage();
  // A file system that cannot be measured leaves `disk` out; the rest is still worth answering.
  const disk = await (source.disk ?? (() => diskUsage(source.store.root)))().catch(() => undefined);
  const { intervalSeconds, highWatermark, lowWatermark, history } = source.gc;
  return {
    apiVersion: 'flox.dev/v1alpha1',
    kind: 'NodeStatus',
    node: source.node,
    system: source.system,
    agent: { version: source.version, startedAt: source.startedAt.toISOString(), ready: source.readiness.ready, checks: source.readiness.checks() },
    store: { root: source.store.root, paths: usage.paths, narBytes: usage.narBytes, ...(disk === undefined ? {} : { disk }) },
    gc: { intervalSeconds, highWatermark, lowWatermark, ...history.snapshot() },
  };
}

/** The route handler for `/status`; `onError` sees every 5xx (for logs and metrics). */
export function statusRoute(source: StatusSource, onError: (error: unknown) => void): RouteHandler {
  return (req, res, url) => {
    const head = req.method === 'HEAD';
    if (url.pathname !== STATUS_PATH) {
      res.writeHead(404, { 'content-type': 'text/plain' }).end('not found\n');
      return;
    }
    nodeStatus(source).then(
      (status) => send(res, 200, status, head),
      (error: unknown) => {
        onError(error);
        const body: AgentHttpError = { error: { code: codeLabel(error), message: `internal error: ${(error as Error).message}`.slice(0, 1000) } };
        send(res, 500, body, head);
      },
    );
  };
}
