// HTTP for one read of a floxmeta repository: the token goes only to the configured
// origin, redirects are followed only within it, every body is bounded, and the whole
// read shares one deadline. node:http(s) rather than fetch: fetch loads undici, which
// costs start-up time on the container-create path.
import type { Agent, IncomingMessage } from 'node:http';
import {
  FloxmetaForbiddenError,
  FloxmetaTimeoutError,
  FloxmetaTooLargeError,
  FloxmetaTransportError,
  FloxmetaUnauthorizedError,
} from './errors.ts';

export interface TransportOptions {
  /** The configured git URL; its origin is the only one that ever sees the token. */
  baseUrl: string;
  /** `Authorization` header value, or undefined for public environments. */
  authorization: string | undefined;
  /** Where the token came from (messages name the file, never the token). */
  tokenFile: string | undefined;
  /** Aborts every request when the read's deadline passes. */
  signal: AbortSignal;
  /** Largest response body accepted. */
  maxBytes: number;
  /** For messages: `floxmeta https://…`. */
  label: string;
}

export interface HttpAnswer {
  /** The URL that answered (after same-origin redirects). */
  url: string;
  statusCode: number;
  statusMessage: string;
  headers: Record<string, string>;
  body: Uint8Array;
}

const MAX_REDIRECTS = 3;

/** One read's HTTP client. `requests` counts what went on the wire. */
export class Transport {
  requests = 0;
  readonly #origin: string;
  readonly #agent: Agent;
  readonly #https: boolean;
  readonly options: TransportOptions;

  constructor(options: TransportOptions) {
    this.options = options;
    const base = new URL(options.baseUrl);
    this.#origin = base.origin;
    this.#https = base.protocol === 'https:';
    const { Agent: AgentClass } = this.#https ? process.getBuiltinModule('node:https') : process.getBuiltinModule('node:http');
    // Keep-alive within one read: discovery and fetch share a connection (one TLS handshake).
    this.#agent = new AgentClass({ keepAlive: true, maxSockets: 1 });
  }

  /**
   * Sends one request. Answers 2xx and 404 (the caller knows what a 404 means there);
   * 401, 403, other statuses, cross-origin redirects, network failures, oversized bodies
   * and the deadline are coded errors.
   */
  async request(method: 'GET' | 'POST', url: string, headers: Record<string, string>, body?: Uint8Array, limit: number = this.options.maxBytes): Promise<HttpAnswer> {
    let target = new URL(url);
    for (let hop = 0; ; hop++) {
      if (target.origin !== this.#origin) {
        // Only reachable through a redirect: callers build URLs under the configured base.
        throw new FloxmetaTransportError(`${this.options.label}: ${describe(url)} redirected to ${target.origin}, another origin; not followed (the token is only ever sent to ${this.#origin})`);
      }
      const res = await this.#send(method, target, headers, body);
      const status = res.statusCode ?? 0;
      const location = res.headers.location;
      if (status >= 300 && status < 400 && location !== undefined) {
        res.resume();
        if (hop >= MAX_REDIRECTS) throw new FloxmetaTransportError(`${this.options.label}: more than ${MAX_REDIRECTS} redirects for ${describe(url)}`);
        target = new URL(location, target);
        continue;
      }
      if (status === 401) {
        res.resume();
        throw new FloxmetaUnauthorizedError(
          this.options.authorization === undefined
            ? `${this.options.label}: ${describe(url)} answered HTTP 401: the environment is private and no tokenFile is configured; mount a FloxHub token Secret and name it in the source's tokenFile`
            : `${this.options.label}: ${describe(url)} answered HTTP 401: the token in ${this.options.tokenFile} was not accepted (expired or revoked?); refresh the Secret`,
        );
      }
      if (status === 403) {
        res.resume();
        throw new FloxmetaForbiddenError(
          `${this.options.label}: ${describe(url)} answered HTTP 403: the token in ${this.options.tokenFile ?? '(none configured)'} may not read this owner's environments; grant its user access on FloxHub`,
        );
      }
      if (status !== 404 && (status < 200 || status >= 300)) {
        res.resume();
        throw new FloxmetaTransportError(`${this.options.label}: ${describe(url)} answered HTTP ${status} ${res.statusMessage ?? ''}`.trimEnd());
      }
      return {
        url: target.href,
        statusCode: status,
        statusMessage: res.statusMessage ?? '',
        headers: flatHeaders(res),
        body: await this.#readBody(res, limit, url),
      };
    }
  }

  /** Closes the kept-alive connection. */
  close(): void {
    this.#agent.destroy();
  }

  #send(method: string, target: URL, headers: Record<string, string>, body: Uint8Array | undefined): Promise<IncomingMessage> {
    const { request } = this.#https ? process.getBuiltinModule('node:https') : process.getBuiltinModule('node:http');
    const all: Record<string, string> = { 'user-agent': 'git/2.0 (flox-k8s)', ...headers };
    if (body !== undefined) all['content-length'] = String(body.length);
    // The token only ever rides to the configured origin (checked by the caller, per hop).
    if (this.options.authorization !== undefined) all['authorization'] = this.options.authorization;
    this.requests++;
    return new Promise((resolve, reject) => {
      const req = request(target, { method, headers: all, agent: this.#agent, signal: this.options.signal }, resolve);
      req.on('error', (error) => reject(this.#failure(error, target)));
      req.end(body === undefined ? undefined : Buffer.from(body.buffer, body.byteOffset, body.byteLength));
    });
  }

  async #readBody(res: IncomingMessage, limit: number, url: string): Promise<Uint8Array> {
    const declared = Number(res.headers['content-length']);
    if (Number.isFinite(declared) && declared > limit) {
      res.destroy();
      throw new FloxmetaTooLargeError(`${this.options.label}: ${describe(url)} sends ${declared} bytes, over the ${limit}-byte limit (raise the source's maxFetchBytes if this environment is that large)`);
    }
    const chunks: Buffer[] = [];
    let size = 0;
    try {
      for await (const chunk of res as AsyncIterable<Buffer>) {
        size += chunk.length;
        if (size > limit) {
          res.destroy();
          throw new FloxmetaTooLargeError(`${this.options.label}: ${describe(url)} sent more than the ${limit}-byte limit (raise the source's maxFetchBytes if this environment is that large)`);
        }
        chunks.push(chunk);
      }
    } catch (error) {
      if (error instanceof FloxmetaTooLargeError) throw error;
      throw this.#failure(error as Error, new URL(url));
    }
    return new Uint8Array(Buffer.concat(chunks));
  }

  #failure(error: Error, target: URL): Error {
    if (this.options.signal.aborted) {
      return new FloxmetaTimeoutError(`${this.options.label}: no complete answer from ${target.origin} before the source's timeoutMs`, { cause: error });
    }
    const code = (error as NodeJS.ErrnoException).code;
    return new FloxmetaTransportError(`${this.options.label}: cannot read ${describe(target.href)}: ${code ?? error.message}`, { cause: error });
  }
}

/** A URL for messages: path and query only matter, and userinfo never appears. */
function describe(url: string): string {
  const u = new URL(url);
  return `${u.pathname}${u.search}`;
}

function flatHeaders(res: IncomingMessage): Record<string, string> {
  const out: Record<string, string> = {};
  for (const [name, value] of Object.entries(res.headers)) {
    if (value !== undefined) out[name] = Array.isArray(value) ? value.join(', ') : value;
  }
  return out;
}
