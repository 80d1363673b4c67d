import { setTimeout as sleep } from 'node:timers/promises';
import { AbortedError, NarError } from './errors.ts';

/** Backoff policy: `retries` extra attempts, full-jitter exponential delays between them. */
export interface RetryPolicy {
  retries: number;
  baseDelayMs: number;
  maxDelayMs: number;
}

/** A failure worth another attempt (5xx, reset, stall); carries the underlying error. */
export class RetryableError extends Error {
  constructor(message: string, options?: { cause?: unknown }) {
    super(message, options);
    this.name = 'RetryableError';
  }
}

const transientCodes = new Set([
  'ECONNRESET',
  'ECONNREFUSED',
  'EPIPE',
  'ETIMEDOUT',
  'ENETUNREACH',
  'EHOSTUNREACH',
  'EAI_AGAIN',
  'UND_ERR_SOCKET',
  'UND_ERR_CLOSED',
  'UND_ERR_BODY_TIMEOUT',
  'UND_ERR_HEADERS_TIMEOUT',
  'UND_ERR_CONNECT_TIMEOUT',
  'UND_ERR_REQ_CONTENT_LENGTH_MISMATCH',
  'UND_ERR_RES_CONTENT_LENGTH_MISMATCH',
]);

/** Whether an error from the network layer is transient. Our own coded errors never are. */
export function isTransient(err: unknown): boolean {
  if (err instanceof RetryableError) return true;
  if (err instanceof NarError) return false;
  let e: unknown = err;
  for (let depth = 0; depth < 4 && typeof e === 'object' && e !== null; depth++) {
    const code = (e as { code?: unknown }).code;
    if (typeof code === 'string' && transientCodes.has(code)) return true;
    e = (e as { cause?: unknown }).cause;
  }
  return false;
}

/** Delay before retry number `attempt` (0-based): uniform in [0, min(max, base * 2^attempt)]. */
export function backoffDelay(policy: RetryPolicy, attempt: number): number {
  const ceiling = Math.min(policy.maxDelayMs, policy.baseDelayMs * 2 ** attempt);
  return Math.round(ceiling / 2 + (Math.random() * ceiling) / 2);
}

/** Run `fn` until it succeeds, fails permanently, or the retry budget is spent. */
export async function withRetries<T>(
  policy: RetryPolicy,
  fn: (attempt: number) => Promise<T>,
  opts: { signal?: AbortSignal | undefined; onRetry?: (attempt: number, delayMs: number, err: unknown) => void },
): Promise<T> {
  for (let attempt = 0; ; attempt++) {
    try {
      return await fn(attempt);
    } catch (err) {
      if (opts.signal?.aborted === true) throw new AbortedError('request aborted', { cause: opts.signal.reason });
      if (!isTransient(err) || attempt >= policy.retries) throw err;
      const delay = backoffDelay(policy, attempt);
      opts.onRetry?.(attempt + 1, delay, err);
      await sleep(delay, undefined, opts.signal ? { signal: opts.signal } : {}).catch(() => {
        throw new AbortedError('request aborted while waiting to retry', { cause: opts.signal?.reason });
      });
    }
  }
}
