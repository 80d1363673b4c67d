// GET through the API server's pod proxy with the kubeconfig's credentials, on
// node:http(s) so the answer's size and time are bounded (the API server's proxy
// waits on the pod as long as the pod likes, and passes on whatever it sends).
import type { IncomingMessage, RequestOptions } from 'node:http';
import type { KubeConfig } from '@kubernetes/client-node';
import { KubeApiError, KubeRequestInvalidError, KubeResponseTooLargeError, KubeTimeoutError } from './errors.ts';
import type { PodProxyRequest, PodProxyResponse } from './types.ts';

// RFC 1123 subdomains (pod names) and labels (namespaces), as the API server validates them.
const DNS_SUBDOMAIN = /^[a-z0-9]([-a-z0-9]*[a-z0-9])?(\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*$/;
const DNS_LABEL = /^[a-z0-9]([-a-z0-9]*[a-z0-9])?$/;
const PATH = /^\/[A-Za-z0-9._~!$&'()*+,;=:@%/?-]*$/;

/** The proxy URL path of a request; throws `FLOXK8S_KUBE_REQUEST_INVALID` for parts that cannot be in one. */
export function podProxyPath(request: Pick<PodProxyRequest, 'namespace' | 'pod' | 'port' | 'path'>): string {
  const { namespace, pod, port, path } = request;
  if (namespace.length > 63 || !DNS_LABEL.test(namespace)) throw new KubeRequestInvalidError(`namespace ${JSON.stringify(namespace)} is not a DNS label`);
  if (pod.length > 253 || !DNS_SUBDOMAIN.test(pod)) throw new KubeRequestInvalidError(`pod name ${JSON.stringify(pod)} is not a DNS subdomain`);
  if (!Number.isInteger(port) || port < 1 || port > 65535) throw new KubeRequestInvalidError(`port ${String(port)} is not a TCP port number`);
  if (!PATH.test(path) || path.split('?')[0]!.split('/').includes('..')) throw new KubeRequestInvalidError(`path ${JSON.stringify(path.slice(0, 100))} is not an absolute URL path`);
  return `/api/v1/namespaces/${namespace}/pods/${pod}:${port}/proxy${path}`;
}

export async function proxyGet(kc: KubeConfig, request: PodProxyRequest): Promise<PodProxyResponse> {
  const server = kc.getCurrentCluster()?.server;
  if (server === undefined) throw new KubeApiError('the kubeconfig names no cluster server');
  const url = new URL(server.replace(/\/+$/, '') + podProxyPath(request));
  const options: RequestOptions = { method: 'GET', headers: { accept: 'application/json, */*' } };
  await kc.applyToHTTPSOptions(options);
  const timeoutMs = request.timeoutMs ?? 10_000;
  const maxBytes = request.maxBytes ?? 16 * 1024 * 1024;
  const what = `GET ${url.pathname}`;
  const { request: send } = url.protocol === 'https:' ? await import('node:https') : await import('node:http');

  return new Promise<PodProxyResponse>((resolve, reject) => {
    let settled = false;
    const finish = (error: Error | undefined, value?: PodProxyResponse): void => {
      if (settled) return;
      settled = true;
      clearTimeout(timer);
      request.signal?.removeEventListener('abort', onAbort);
      if (error) {
        req.destroy();
        reject(error);
      } else resolve(value!);
    };
    const onAbort = (): void => finish(new KubeTimeoutError(`${what}: aborted`, { cause: request.signal?.reason }));
    const timer = setTimeout(() => finish(new KubeTimeoutError(`${what}: no complete answer within ${timeoutMs} ms`)), timeoutMs);
    const req = send(url, options, (res: IncomingMessage) => {
      const chunks: Buffer[] = [];
      let size = 0;
      res.on('data', (chunk: Buffer) => {
        size += chunk.length;
        if (size > maxBytes) finish(new KubeResponseTooLargeError(`${what}: the answer is larger than ${maxBytes} bytes`));
        else chunks.push(chunk);
      });
      res.on('end', () => finish(undefined, { status: res.statusCode ?? 0, contentType: res.headers['content-type'], body: new Uint8Array(Buffer.concat(chunks)) }));
      res.on('error', (error) => finish(new KubeApiError(`${what}: ${error.message}`, undefined, { cause: error })));
    });
    req.on('error', (error) => finish(new KubeApiError(`${what}: ${error.message}`, undefined, { cause: error })));
    if (request.signal?.aborted) onAbort();
    else request.signal?.addEventListener('abort', onAbort, { once: true });
    req.end();
  });
}
