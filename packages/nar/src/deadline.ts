import { DeadlineExceededError } from './errors.ts';

/** How long a transfer may take in all: `max(minMs, bytes / minBytesPerSecond)`. */
export interface DeadlinePolicy {
  minMs: number;
  minBytesPerSecond: number;
}

/**
 * NAR fetches, by default: at least 5 minutes, and 256 KiB/s of the compressed file (FileSize,
 * else NarSize): a 1 GiB NAR gets 68 minutes. Idle (stall) timeouts alone never end a body that
 * trickles in just under them; this bounds the whole fetch, retries included.
 */
export const NAR_DEADLINE: DeadlinePolicy = { minMs: 5 * 60_000, minBytesPerSecond: 256 * 1024 };

/** narinfo and nix-cache-info lookups (at most 1 MiB each), retries included, by default. */
export const NARINFO_DEADLINE_MS = 60_000;

/** The deadline in ms for moving `bytes` under `policy`. */
export function deadlineMs(bytes: number, policy: DeadlinePolicy): number {
  return Math.max(policy.minMs, Math.ceil((bytes / policy.minBytesPerSecond) * 1000));
}

/**
 * Runs `fn` with a signal that fires when `signal` does or after `ms`, whichever comes first.
 * When the deadline fired (and not the caller's signal), the failure is DeadlineExceededError
 * (`FLOXK8S_DEADLINE_EXCEEDED`) naming `what`. For any fetch that must end: hub reads as well.
 */
export async function withDeadline<T>(ms: number, what: string, signal: AbortSignal | undefined, fn: (signal: AbortSignal) => Promise<T>): Promise<T> {
  const deadline = new AbortController();
  const timer = setTimeout(() => deadline.abort(new DeadlineExceededError(`${what}: deadline of ${ms} ms passed`)), ms);
  const combined = signal === undefined ? deadline.signal : AbortSignal.any([signal, deadline.signal]);
  try {
    return await fn(combined);
  } catch (err) {
    if (deadline.signal.aborted && signal?.aborted !== true) {
      throw new DeadlineExceededError(
        `${what} did not finish within its deadline of ${ms} ms (the server sends too slowly or never finishes); it was stopped and nothing was kept`,
        { cause: err },
      );
    }
    throw err;
  } finally {
    clearTimeout(timer);
  }
}
