import { randomUUID } from 'node:crypto';
import { createServer, type IncomingMessage, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';

type Obj = { apiVersion?: string; kind?: string; metadata: { name: string; namespace?: string; resourceVersion?: string; uid?: string; [k: string]: unknown }; [k: string]: unknown };
type WatchType = 'ADDED' | 'MODIFIED' | 'DELETED';

/** RFC 7386 JSON merge patch (strategic merge behaves the same for the map fields the agent patches). */
export function mergePatch(target: unknown, patch: unknown): unknown {
  if (typeof patch !== 'object' || patch === null || Array.isArray(patch)) return patch;
  const out: Record<string, unknown> = typeof target === 'object' && target !== null && !Array.isArray(target) ? { ...(target as Record<string, unknown>) } : {};
  for (const [k, v] of Object.entries(patch)) {
    if (v === null) delete out[k];
    else out[k] = mergePatch(out[k], v);
  }
  return out;
}

/**
 * A fake Kubernetes API server on 127.0.0.1:0 that speaks the real wire format for what the agent
 * uses: pod list (with resourceVersion) + chunked watch streams filtered by `spec.nodeName`,
 * merge/strategic-merge patch on nodes, event creation, configmap reads.
 */
export async function startFakeApiserver() {
  let rv = 100;
  const pods = new Map<string, Obj>();
  const nodes = new Map<string, Obj>();
  const configMaps = new Map<string, Obj>();
  const events: Obj[] = [];
  const requests: Array<{ method: string; path: string; contentType: string | undefined }> = [];
  const history: Array<{ rv: number; type: WatchType; object: Obj }> = [];
  const watchers = new Set<{ res: ServerResponse; nodeName: string | undefined }>();

  const key = (o: Obj): string => `${o.metadata.namespace ?? ''}/${o.metadata.name}`;
  const podNode = (o: Obj): string | undefined => (o['spec'] as { nodeName?: string } | undefined)?.nodeName;
  const stamp = (o: Obj): Obj => {
    rv += 1;
    return { ...o, metadata: { uid: randomUUID(), ...o.metadata, resourceVersion: String(rv) } };
  };
  const emit = (type: WatchType, object: Obj): void => {
    history.push({ rv: Number(object.metadata.resourceVersion), type, object });
    for (const w of watchers) {
      if (w.nodeName === undefined || podNode(object) === w.nodeName) w.res.write(`${JSON.stringify({ type, object })}\n`);
    }
  };
  const status = (res: ServerResponse, code: number, reason: string, message: string): void => {
    res.writeHead(code, { 'content-type': 'application/json' });
    res.end(JSON.stringify({ kind: 'Status', apiVersion: 'v1', metadata: {}, status: 'Failure', message, reason, code }));
  };
  const json = (res: ServerResponse, code: number, body: unknown): void => {
    res.writeHead(code, { 'content-type': 'application/json' });
    res.end(JSON.stringify(body));
  };
  const body = async (req: IncomingMessage): Promise<unknown> => {
    let text = '';
    for await (const chunk of req) text += String(chunk);
    return JSON.parse(text);
  };
  const nodeFromSelector = (url: URL): string | undefined => {
    const selector = url.searchParams.get('fieldSelector');
    const match = selector === null ? null : /^spec\.nodeName=(.*)$/.exec(selector);
    return match ? match[1] : undefined;
  };

  const server = createServer((req, res) => {
    void (async () => {
      const url = new URL(req.url ?? '/', 'http://x');
      requests.push({ method: req.method ?? '', path: url.pathname + url.search, contentType: req.headers['content-type'] });
      let m: RegExpExecArray | null;
      if (req.method === 'GET' && url.pathname === '/api/v1/pods') {
        const nodeName = nodeFromSelector(url);
        const matching = (o: Obj): boolean => nodeName === undefined || podNode(o) === nodeName;
        if (url.searchParams.get('watch') === 'true') {
          const since = Number(url.searchParams.get('resourceVersion') ?? rv);
          res.writeHead(200, { 'content-type': 'application/json', 'transfer-encoding': 'chunked' });
          res.flushHeaders();
          for (const h of history) if (h.rv > since && matching(h.object)) res.write(`${JSON.stringify({ type: h.type, object: h.object })}\n`);
          const w = { res, nodeName };
          watchers.add(w);
          req.on('close', () => watchers.delete(w));
          return;
        }
        return json(res, 200, { kind: 'PodList', apiVersion: 'v1', metadata: { resourceVersion: String(rv) }, items: [...pods.values()].filter(matching) });
      }
      if ((m = /^\/api\/v1\/nodes\/([^/]+)$/.exec(url.pathname))) {
        const node = nodes.get(decodeURIComponent(m[1] as string));
        if (!node) return status(res, 404, 'NotFound', `nodes "${m[1]}" not found`);
        if (req.method === 'GET') return json(res, 200, node);
        if (req.method === 'PATCH') {
          const type = req.headers['content-type'];
          if (type !== 'application/merge-patch+json' && type !== 'application/strategic-merge-patch+json') {
            return status(res, 415, 'UnsupportedMediaType', `the body of the request was in an unknown format - accepted media types include: application/merge-patch+json, application/strategic-merge-patch+json; found ${type}`);
          }
          const patched = stamp(mergePatch(node, await body(req)) as Obj);
          nodes.set(node.metadata.name, patched);
          return json(res, 200, patched);
        }
      }
      if (req.method === 'POST' && (m = /^\/api\/v1\/namespaces\/([^/]+)\/events$/.exec(url.pathname))) {
        const event = stamp((await body(req)) as Obj);
        if (event.metadata.namespace !== m[1]) return status(res, 400, 'BadRequest', 'the namespace of the provided object does not match the namespace sent on the request');
        events.push(event);
        return json(res, 201, { ...event, metadata: { ...event.metadata, creationTimestamp: new Date().toISOString() } });
      }
      if (req.method === 'GET' && (m = /^\/api\/v1\/namespaces\/([^/]+)\/configmaps\/([^/]+)$/.exec(url.pathname))) {
        const cm = configMaps.get(`${m[1]}/${m[2]}`);
        return cm ? json(res, 200, cm) : status(res, 404, 'NotFound', `configmaps "${m[2]}" not found`);
      }
      status(res, 404, 'NotFound', `the server could not find the requested resource (${req.method} ${url.pathname})`);
    })().catch((error: unknown) => status(res, 500, 'InternalError', String(error)));
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as AddressInfo;

  return {
    url: `http://127.0.0.1:${port}`,
    requests,
    events,
    addNode(name: string, labels: Record<string, string> = {}): void {
      nodes.set(name, stamp({ apiVersion: 'v1', kind: 'Node', metadata: { name, labels } }));
    },
    node(name: string): Obj | undefined {
      return nodes.get(name);
    },
    setConfigMap(namespace: string, name: string, data: Record<string, string>): void {
      configMaps.set(`${namespace}/${name}`, stamp({ apiVersion: 'v1', kind: 'ConfigMap', metadata: { name, namespace }, data }));
    },
    /** Create or update a pod and stream ADDED / MODIFIED to matching watchers. */
    putPod(pod: Obj): Obj {
      const existed = pods.has(key(pod));
      const stored = stamp({ apiVersion: 'v1', kind: 'Pod', ...pod, metadata: { ...pods.get(key(pod))?.metadata, ...pod.metadata } });
      pods.set(key(stored), stored);
      emit(existed ? 'MODIFIED' : 'ADDED', stored);
      return stored;
    },
    deletePod(namespace: string, name: string): void {
      const pod = pods.get(`${namespace}/${name}`);
      if (!pod) return;
      pods.delete(key(pod));
      emit('DELETED', stamp(pod));
    },
    /** End every open watch stream, as an apiserver does at its watch timeout; clients must re-watch. */
    dropWatches(): void {
      for (const w of watchers) w.res.end();
      watchers.clear();
    },
    get watcherCount(): number {
      return watchers.size;
    },
    close(): Promise<void> {
      for (const w of watchers) w.res.end();
      server.closeAllConnections();
      return new Promise((resolve) => server.close(() => resolve()));
    },
  };
}

export type FakeApiserver = Awaited<ReturnType<typeof startFakeApiserver>>;
