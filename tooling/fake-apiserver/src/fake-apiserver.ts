import { randomUUID } from 'node:crypto';
import { createServer, type IncomingMessage, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { mergePatch } from './merge-patch.ts';
import { proxyToPod, splitProxyTarget } from './pod-proxy.ts';
import { labelSelector, podFieldSelector, SelectorError, type KubeObject } from './selectors.ts';

type WatchType = 'ADDED' | 'MODIFIED' | 'DELETED';
type Watcher = { res: ServerResponse; matches: (o: KubeObject) => boolean };

const MERGE_TYPES = ['application/merge-patch+json', 'application/strategic-merge-patch+json'];

/**
 * A fake Kubernetes API server on 127.0.0.1:0 (a test double: no auth, no admission, no
 * validation) that speaks the real wire format for what flox-k8s uses: pod list (with
 * resourceVersion) and chunked watch streams, cluster-wide or per namespace, filtered by
 * field selectors (`spec.nodeName`, `metadata.name`, `status.phase`, …) and label
 * selectors; merge/strategic-merge patch of nodes and pods; event creation; ConfigMap
 * reads; and the pod proxy to real HTTP servers at each pod's `status.podIP`.
 */
export async function startFakeApiserver() {
  let rv = 100;
  const pods = new Map<string, KubeObject>();
  const nodes = new Map<string, KubeObject>();
  const configMaps = new Map<string, KubeObject>();
  const events: KubeObject[] = [];
  const requests: Array<{ method: string; path: string; contentType: string | undefined }> = [];
  const history: Array<{ rv: number; type: WatchType; object: KubeObject }> = [];
  const watchers = new Set<Watcher>();

  const key = (o: KubeObject): string => `${o.metadata.namespace ?? ''}/${o.metadata.name}`;
  const stamp = (o: KubeObject): KubeObject => {
    rv += 1;
    return { ...o, metadata: { uid: randomUUID(), ...o.metadata, resourceVersion: String(rv) } };
  };
  const emit = (type: WatchType, object: KubeObject): void => {
    history.push({ rv: Number(object.metadata.resourceVersion), type, object });
    for (const w of watchers) if (w.matches(object)) w.res.write(`${JSON.stringify({ type, object })}\n`);
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
  const podMatcher = (url: URL, namespace: string | undefined): ((o: KubeObject) => boolean) => {
    const fields = podFieldSelector(url.searchParams.get('fieldSelector'));
    const labels = labelSelector(url.searchParams.get('labelSelector'));
    return (o) => (namespace === undefined || o.metadata.namespace === namespace) && fields(o) && labels(o.metadata.labels ?? {});
  };
  const listOrWatchPods = (url: URL, namespace: string | undefined, req: IncomingMessage, res: ServerResponse): void => {
    const matches = podMatcher(url, namespace);
    if (url.searchParams.get('watch') === 'true' || url.searchParams.get('watch') === '1') {
      const since = Number(url.searchParams.get('resourceVersion') || rv);
      res.writeHead(200, { 'content-type': 'application/json', 'transfer-encoding': 'chunked' });
      res.flushHeaders();
      for (const h of history) if (h.rv > since && matches(h.object)) res.write(`${JSON.stringify({ type: h.type, object: h.object })}\n`);
      const w = { res, matches };
      watchers.add(w);
      req.on('close', () => watchers.delete(w));
      return;
    }
    json(res, 200, { kind: 'PodList', apiVersion: 'v1', metadata: { resourceVersion: String(rv) }, items: [...pods.values()].filter(matches) });
  };
  const patch = async (req: IncomingMessage, res: ServerResponse, store: Map<string, KubeObject>, id: string): Promise<void> => {
    const found = store.get(id);
    if (!found) return status(res, 404, 'NotFound', `"${id}" not found`);
    const type = req.headers['content-type'];
    if (type === undefined || !MERGE_TYPES.includes(type)) {
      return status(res, 415, 'UnsupportedMediaType', `the body of the request was in an unknown format - accepted media types include: ${MERGE_TYPES.join(', ')}; found ${type}`);
    }
    const patched = stamp(mergePatch(found, await body(req)) as KubeObject);
    store.set(id, patched);
    if (store === pods) emit('MODIFIED', patched);
    json(res, 200, patched);
  };

  const server = createServer((req, res) => {
    void (async () => {
      const url = new URL(req.url ?? '/', 'http://x');
      requests.push({ method: req.method ?? '', path: url.pathname + url.search, contentType: req.headers['content-type'] });
      let m: RegExpExecArray | null;
      if (req.method === 'GET' && url.pathname === '/api/v1/pods') return listOrWatchPods(url, undefined, req, res);
      if (req.method === 'GET' && (m = /^\/api\/v1\/namespaces\/([^/]+)\/pods$/.exec(url.pathname))) return listOrWatchPods(url, m[1], req, res);
      if ((m = /^\/api\/v1\/namespaces\/([^/]+)\/pods\/([^/]+)\/proxy(\/.*)?$/.exec(url.pathname))) {
        const target = splitProxyTarget(decodeURIComponent(m[2]!));
        const pod = pods.get(`${m[1]}/${target.name}`);
        if (!pod) return status(res, 404, 'NotFound', `pods "${target.name}" not found`);
        return proxyToPod(pod, target, m[3] ?? '/', url.search, req, res, status);
      }
      if ((m = /^\/api\/v1\/namespaces\/([^/]+)\/pods\/([^/]+)$/.exec(url.pathname))) {
        const id = `${m[1]}/${decodeURIComponent(m[2]!)}`;
        if (req.method === 'PATCH') return await patch(req, res, pods, id);
        const pod = pods.get(id);
        return pod ? json(res, 200, pod) : status(res, 404, 'NotFound', `pods "${m[2]}" not found`);
      }
      if ((m = /^\/api\/v1\/nodes\/([^/]+)$/.exec(url.pathname))) {
        const name = decodeURIComponent(m[1]!);
        if (req.method === 'PATCH') return await patch(req, res, nodes, name);
        const node = nodes.get(name);
        return node ? json(res, 200, node) : status(res, 404, 'NotFound', `nodes "${name}" not found`);
      }
      if (req.method === 'POST' && (m = /^\/api\/v1\/namespaces\/([^/]+)\/events$/.exec(url.pathname))) {
        const event = stamp((await body(req)) as KubeObject);
        if (event.metadata.namespace !== m[1]) return status(res, 400, 'BadRequest', 'the namespace of the provided object does not match the namespace sent on the request');
        events.push(event);
        return json(res, 201, { ...event, metadata: { ...event.metadata, creationTimestamp: new Date().toISOString() } });
      }
      if (req.method === 'GET' && (m = /^\/api\/v1\/namespaces\/([^/]+)\/configmaps\/([^/]+)$/.exec(url.pathname))) {
        const cm = configMaps.get(`${m[1]}/${m[2]}`);
        return cm ? json(res, 200, cm) : status(res, 404, 'NotFound', `configmaps "${m[2]}" not found`);
      }
      status(res, 404, 'NotFound', `the server could not find the requested resource (${req.method} ${url.pathname})`);
    })().catch((error: unknown) => {
      if (error instanceof SelectorError) return status(res, 400, 'BadRequest', error.message);
      status(res, 500, 'InternalError', String(error));
    });
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
    node(name: string): KubeObject | undefined {
      return nodes.get(name);
    },
    setConfigMap(namespace: string, name: string, data: Record<string, string>): void {
      configMaps.set(`${namespace}/${name}`, stamp({ apiVersion: 'v1', kind: 'ConfigMap', metadata: { name, namespace }, data }));
    },
    /** Create or update a pod and stream ADDED / MODIFIED to matching watchers. */
    putPod(pod: KubeObject): KubeObject {
      const existed = pods.has(key(pod));
      const stored = stamp({ apiVersion: 'v1', kind: 'Pod', ...pod, metadata: { ...pods.get(key(pod))?.metadata, ...pod.metadata } });
      pods.set(key(stored), stored);
      emit(existed ? 'MODIFIED' : 'ADDED', stored);
      return stored;
    },
    pod(namespace: string, name: string): KubeObject | undefined {
      return pods.get(`${namespace}/${name}`);
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
