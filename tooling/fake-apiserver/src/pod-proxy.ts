// The API server's pod proxy (`/api/v1/namespaces/<ns>/pods/[<scheme>:]<name>[:<port>]/proxy/<path>`),
// as kube-apiserver's pod ResourceLocation and its upgrade-aware proxy handler do it: the
// port defaults to the pod's first container port; the request goes to <podIP>:<port>
// with its query string; the pod's status, content type and body come back as they are;
// a pod that cannot be dialled gives 503 "error trying to reach service"; there is no
// deadline (a pod that never answers holds the request until the client gives up).
import { request as httpRequest, type IncomingMessage, type ServerResponse } from 'node:http';
import { request as httpsRequest } from 'node:https';
import type { KubeObject } from './selectors.ts';

export type StatusWriter = (res: ServerResponse, code: number, reason: string, message: string) => void;

/** Parse `[<scheme>:]<name>[:<port>]`. */
export function splitProxyTarget(id: string): { scheme: 'http' | 'https'; name: string; port: string | undefined } {
  const parts = id.split(':');
  if (parts.length === 3) return { scheme: parts[0] === 'https' ? 'https' : 'http', name: parts[1]!, port: parts[2] || undefined };
  if (parts.length === 2) return { scheme: 'http', name: parts[0]!, port: parts[1] || undefined };
  return { scheme: 'http', name: id, port: undefined };
}

export function proxyToPod(pod: KubeObject, target: ReturnType<typeof splitProxyTarget>, path: string, search: string, req: IncomingMessage, res: ServerResponse, status: StatusWriter): void {
  const podIP = (pod['status'] as { podIP?: string } | undefined)?.podIP;
  if (!podIP) return status(res, 503, 'ServiceUnavailable', `address not allowed: pod ${pod.metadata.name} has no IP`);
  const containers = ((pod['spec'] as { containers?: Array<{ ports?: Array<{ containerPort: number }> }> } | undefined)?.containers ?? []);
  const port = target.port ?? String(containers.flatMap((c) => c.ports ?? [])[0]?.containerPort ?? '');
  if (!/^[0-9]+$/.test(port)) return status(res, 503, 'ServiceUnavailable', `no port given and pod ${pod.metadata.name} declares none`);
  const send = target.scheme === 'https' ? httpsRequest : httpRequest;
  const upstream = send(
    { host: podIP, port: Number(port), path: `${path}${search}`, method: req.method, headers: { accept: req.headers.accept ?? '*/*' }, rejectUnauthorized: false, agent: false },
    (answer) => {
      res.writeHead(answer.statusCode ?? 502, answer.headers['content-type'] === undefined ? {} : { 'content-type': answer.headers['content-type'] });
      answer.pipe(res);
    },
  );
  upstream.on('error', (error: NodeJS.ErrnoException) => {
    if (res.headersSent) return void res.destroy();
    const reason = error.code === 'ECONNREFUSED' ? 'connect: connection refused' : error.message;
    status(res, 503, 'ServiceUnavailable', `error trying to reach service: dial tcp ${podIP}:${port}: ${reason}`);
  });
  // The client gave up: so does the proxy.
  res.on('close', () => upstream.destroy());
  upstream.end();
}
