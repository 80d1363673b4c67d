import { request } from 'node:http';
import type { Readable } from 'node:stream';
import { formatIssues } from '@flox-k8s/core';
import { AgentProtocolError, AgentUnavailableError, agentRealiseError } from './errors.ts';
import {
  NDJSON_CONTENT_TYPE,
  REALISE_PATH,
  realiseEventSchema,
  realiseRequestSchema,
  type RealiseDone,
  type RealiseEvent,
  type RealiseProgress,
  type RealiseRequest,
} from './schema.ts';

export interface RealiseViaAgentOptions {
  /** Give up connecting after this long and report the agent unavailable (default 200 ms). */
  connectTimeoutMs?: number;
  signal?: AbortSignal;
  onProgress?: (event: RealiseProgress) => void;
}

/** Longest accepted NDJSON line; a done line lists the closure, so allow plenty. */
const MAX_LINE = 64 * 1024 * 1024;

/**
 * Asks the node agent listening on `socketPath` to realise a closure.
 * Throws AgentUnavailableError when nothing answers (callers fall back to an
 * in-process realise), RealiseFailedError with the agent's code on an error line,
 * AgentProtocolError when the answer is outside the protocol.
 */
export function realiseViaAgent(socketPath: string, body: RealiseRequest, options: RealiseViaAgentOptions = {}): Promise<RealiseDone> {
  const valid = realiseRequestSchema.safeParse(body);
  if (!valid.success) return Promise.reject(new AgentProtocolError(`invalid realise request: ${formatIssues(valid.error)}`));
  const payload = JSON.stringify(valid.data);
  return new Promise<RealiseDone>((resolve, reject) => {
    let connected = false;
    let settled = false;
    const finish = (error: Error | undefined, done?: RealiseDone): void => {
      if (settled) return;
      settled = true;
      clearTimeout(timer);
      options.signal?.removeEventListener('abort', onAbort);
      if (error !== undefined) {
        req.destroy();
        reject(error);
      } else resolve(done as RealiseDone);
    };
    const req = request({
      socketPath,
      path: REALISE_PATH,
      method: 'POST',
      headers: { 'content-type': 'application/json', 'content-length': Buffer.byteLength(payload), accept: NDJSON_CONTENT_TYPE },
      agent: false,
    });
    const timer = setTimeout(() => {
      if (!connected) finish(new AgentUnavailableError(`node agent at ${socketPath} did not accept a connection within ${options.connectTimeoutMs ?? 200} ms`));
    }, options.connectTimeoutMs ?? 200);
    const onAbort = (): void => finish(new AgentProtocolError('realise via node agent aborted', { cause: options.signal?.reason }));
    options.signal?.addEventListener('abort', onAbort, { once: true });
    req.on('socket', (socket) => {
      socket.once('connect', () => {
        connected = true;
        clearTimeout(timer);
      });
    });
    req.on('error', (error: NodeJS.ErrnoException) => {
      if (!connected) finish(new AgentUnavailableError(`node agent at ${socketPath} unavailable: ${error.code ?? error.message}`, { cause: error }));
      else finish(new AgentProtocolError(`node agent connection failed: ${error.message}`, { cause: error }));
    });
    req.on('response', (res) => {
      if (res.statusCode !== 200) {
        // Non-200 answers may still carry one error line; read a little and report it.
        void readAll(res, 64 * 1024).then(
          (text) => {
            const parsed = parseLine(text.split('\n')[0] ?? '');
            if (parsed.type === 'error') finish(agentRealiseError(parsed.code, parsed.message));
            else finish(new AgentProtocolError(`node agent answered HTTP ${res.statusCode}: ${text.slice(0, 200)}`));
          },
          (error: unknown) => finish(new AgentProtocolError(`node agent answered HTTP ${res.statusCode}`, { cause: error })),
        );
        return;
      }
      let buffer = '';
      res.setEncoding('utf8');
      res.on('data', (chunk: string) => {
        buffer += chunk;
        if (buffer.length > MAX_LINE) return finish(new AgentProtocolError('node agent sent an over-long line'));
        let nl: number;
        while ((nl = buffer.indexOf('\n')) >= 0) {
          const line = buffer.slice(0, nl);
          buffer = buffer.slice(nl + 1);
          if (line.trim() === '') continue;
          const event = parseLine(line);
          if (event.type === 'invalid') return finish(new AgentProtocolError(`node agent sent an invalid line: ${event.problem}`));
          if (event.type === 'progress') options.onProgress?.(event);
          else if (event.type === 'error') return finish(agentRealiseError(event.code, event.message));
          else return finish(undefined, event);
        }
      });
      res.on('end', () => finish(new AgentProtocolError('node agent closed the stream before a done or error line')));
      res.on('error', (error) => finish(new AgentProtocolError(`node agent stream failed: ${error.message}`, { cause: error })));
    });
    req.end(payload);
  });
}

type ParsedLine = RealiseEvent | { type: 'invalid'; problem: string };

function parseLine(line: string): ParsedLine {
  let json: unknown;
  try {
    json = JSON.parse(line);
  } catch {
    return { type: 'invalid', problem: `not JSON: ${line.slice(0, 120)}` };
  }
  const result = realiseEventSchema.safeParse(json);
  return result.success ? result.data : { type: 'invalid', problem: formatIssues(result.error) };
}

async function readAll(stream: Readable, limit: number): Promise<string> {
  let text = '';
  for await (const chunk of stream) {
    text += String(chunk);
    if (text.length > limit) break;
  }
  return text;
}
